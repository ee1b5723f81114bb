// Row o of a quantized weight as fp32 for the float panel GEMMs (linear_panel.h), kLanes values
// at a time, shared by the x86 files like linear_rows.h: include it AFTER the file's
// `#pragma GCC target` and instantiate it with a Traits type of that file's own:
//   VF, kLanes               a float vector of kLanes lanes
//   set1(float)
//   int8(q, scale, out)      kLanes int8 codes as float(q) * scale
//   int4(q, zero, scale, out)  kLanes 4-bit codes (kLanes / 2 bytes, column 2k in the low
//                            nibble of byte k) as float(q - zero) * scale
//   fp8(q, lut, scale, out)  kLanes e4m3 bytes as lut[q] * scale
// The values are decode_row_scalar's (one integer subtraction, one float multiply); layouts
// the vectors do not cover (act-order int4, odd group sizes, other formats) go through it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear_weight.h"
#include "tensor/dtype.h"

namespace fathom::kernels::cpu {

template <class V>
void decode_row_simd(const LinearWeight& w, int64_t o, float* buf) {
  constexpr int64_t kLanes = V::kLanes;
  const int64_t in = w.in_features;
  if (w.format == WeightFormat::kInt8Channel) {
    const int8_t* row = w.q8 + o * in;
    const float s = w.channel_scale[o];
    int64_t j = 0;
    for (; j + kLanes <= in; j += kLanes) V::int8(row + j, V::set1(s), buf + j);
    for (; j < in; ++j) buf[j] = static_cast<float>(row[j]) * s;
    return;
  }
  if (w.format == WeightFormat::kInt4Grouped && !w.group_idx && w.group_size % kLanes == 0) {
    const uint8_t* row = w.q4 + o * ((in + 1) / 2);
    for (int64_t g = 0; g < w.num_groups; ++g) {
      const int64_t j0 = g * w.group_size, j1 = std::min(in, j0 + w.group_size);
      const float s = w.group_scale[o * w.num_groups + g];
      const int z = w.group_zero[o * w.num_groups + g];
      int64_t j = j0;
      for (; j + kLanes <= j1; j += kLanes) V::int4(row + j / 2, z, V::set1(s), buf + j);
      for (; j < j1; ++j) {
        const int q = (j & 1) ? (row[j / 2] >> 4) : (row[j / 2] & 0xf);
        buf[j] = static_cast<float>(q - z) * s;
      }
    }
    return;
  }
  if (w.format == WeightFormat::kFp8Block) {
    const uint8_t* row = static_cast<const uint8_t*>(w.values) + o * in;
    const int64_t nbi = (in + w.block_in - 1) / w.block_in;
    const float* scales = w.block_scale_inv + (o / w.block_out) * nbi;
    const float* lut = e4m3_table();
    for (int64_t b = 0; b < nbi; ++b) {
      const int64_t j1 = std::min(in, (b + 1) * w.block_in);
      int64_t j = b * w.block_in;
      for (; j + kLanes <= j1; j += kLanes) V::fp8(row + j, lut, V::set1(scales[b]), buf + j);
      for (; j < j1; ++j) buf[j] = lut[row[j]] * scales[b];
    }
    return;
  }
  decode_row_scalar(w, o, buf);
}

}  // namespace fathom::kernels::cpu
