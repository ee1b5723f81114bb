#include "kernels/linear_weight.h"

#include "kernels/bf16_packed.h"

namespace fathom::kernels {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kBF16: return "bf16";
    case WeightFormat::kF16: return "f16";
    case WeightFormat::kFp8Block: return "fp8_block";
    case WeightFormat::kInt4Grouped: return "int4_grouped";
    case WeightFormat::kInt8Channel: return "int8_channel";
    case WeightFormat::kGgml: return "ggml";
  }
  return "unknown";
}

int64_t LinearWeight::size_bytes() const {
  const int64_t n = out_features * in_features;
  switch (format) {
    case WeightFormat::kF32: return n * 4;
    case WeightFormat::kBF16:
    case WeightFormat::kF16: return n * 2;
    case WeightFormat::kFp8Block: {
      if (block_out <= 0 || block_in <= 0) return n;
      const int64_t nbo = (out_features + block_out - 1) / block_out;
      const int64_t nbi = (in_features + block_in - 1) / block_in;
      return n + nbo * nbi * 4;
    }
    case WeightFormat::kInt4Grouped: {
      int64_t bytes = out_features * ((in_features + 1) / 2);
      bytes += out_features * int64_t{num_groups} * (4 + 1);  // float scale + u8 zero
      if (group_idx) bytes += in_features * 4;
      if (input_perm) bytes += in_features * 4;
      return bytes;
    }
    case WeightFormat::kInt8Channel: return n + out_features * 4;
    case WeightFormat::kGgml: return out_features * ggml_row_bytes(ggml_type, in_features);
  }
  return 0;
}

int64_t LinearWeight::one_row_bytes() const {
  const Bf16Packed* packed = bf16_packed ? bf16_packed->get() : nullptr;
  return packed ? packed->size_bytes() : size_bytes();
}

}  // namespace fathom::kernels
