// One dequantized element of a LinearWeight, exactly as linear_weight.h defines it. Shared by the
// reference kernel, dequantize_row and the scalar parts of the CPU kernels, so every path agrees
// bit for bit on what W[o, j] is. Internal to src/kernels.
#pragma once

#include <cstdint>

#include "kernels/ggml_blocks.h"
#include "kernels/linear_weight.h"
#include "tensor/dtype.h"

namespace fathom::kernels::detail {

/// Group of stored column j of an int4 weight.
inline int64_t int4_group(const LinearWeight& w, int64_t j) {
  return w.group_idx ? int64_t{w.group_idx[j]} : j / w.group_size;
}

/// W's value at row o, STORED column j (for kInt4Grouped with input_perm this is W's column
/// input_perm[j]; every other format stores columns in order). The product is one float
/// multiply, as the reference packers compute it, so the result is bit-exact.
inline float weight_element(const LinearWeight& w, int64_t o, int64_t j) {
  const int64_t in = w.in_features;
  switch (w.format) {
    case WeightFormat::kF32: return static_cast<const float*>(w.values)[o * in + j];
    case WeightFormat::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(w.values)[o * in + j]);
    case WeightFormat::kF16: return f16_to_f32(static_cast<const uint16_t*>(w.values)[o * in + j]);
    case WeightFormat::kFp8Block: {
      const int64_t nbi = (in + w.block_in - 1) / w.block_in;
      const float s = w.block_scale_inv[(o / w.block_out) * nbi + j / w.block_in];
      return e4m3_to_f32(static_cast<const uint8_t*>(w.values)[o * in + j]) * s;
    }
    case WeightFormat::kInt4Grouped: {
      const uint8_t byte = w.q4[o * ((in + 1) / 2) + j / 2];
      const int q = (j & 1) ? (byte >> 4) : (byte & 0xf);
      const int64_t g = int4_group(w, j);
      const int64_t og = o * w.num_groups + g;
      return static_cast<float>(q - int{w.group_zero[og]}) * w.group_scale[og];
    }
    case WeightFormat::kInt8Channel:
      return static_cast<float>(w.q8[o * in + j]) * w.channel_scale[o];
    case WeightFormat::kGgml: {  // the whole block, then the one element
      const int64_t be = ggml_block_elements(w.ggml_type);
      const uint8_t* row = static_cast<const uint8_t*>(w.values) + o * ggml_row_bytes(w.ggml_type, in);
      float block[256];
      ggml_dequantize(w.ggml_type, row + (j / be) * ggml_block_bytes(w.ggml_type), be, block);
      return block[j % be];
    }
  }
  return 0.0f;
}

/// Input column that stored column j multiplies.
inline int64_t input_column(const LinearWeight& w, int64_t j) {
  return (w.format == WeightFormat::kInt4Grouped && w.input_perm) ? int64_t{w.input_perm[j]} : j;
}

}  // namespace fathom::kernels::detail
