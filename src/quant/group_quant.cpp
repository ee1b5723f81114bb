#include "quant/group_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "tensor/dtype.h"

namespace fathom::quant {

float GroupQuantized::dequant(int64_t o, int64_t i) const {
  const int64_t g = g_idx[i];
  const size_t gi = static_cast<size_t>(g * out_features + o);
  return static_cast<float>(static_cast<int32_t>(q[o * in_features + i]) - zeros[gi]) *
         f16_to_f32(scales[gi]);
}

Status check_group_shape(int64_t out_features, int64_t in_features, const GroupQuantParams& p) {
  if (p.bits != 4)
    return invalid_argument("--bits: " + std::to_string(p.bits) + " is not supported (4 only)");
  if (p.group_size != -1 && p.group_size <= 0)
    return invalid_argument("--group-size: must be positive or -1, got " +
                            std::to_string(p.group_size));
  if (p.group_size > 0 && in_features % p.group_size != 0)
    return invalid_argument("--group-size: " + std::to_string(p.group_size) +
                            " does not divide in_features " + std::to_string(in_features));
  if (in_features % 8 != 0 || out_features % 8 != 0)
    return invalid_argument(
        "4-bit packing needs in_features and out_features divisible by 8, got [" +
        std::to_string(out_features) + ", " + std::to_string(in_features) + "]");
  return ok_status();
}

// tensor/dtype's conversion (round to nearest even), not _Float16, which GCC 12 has for C++ on
// x86 only: the aarch64 build of the fathom binary stopped here.
uint16_t f32_to_f16_bits(float f) { return f32_to_f16(f); }

namespace {

float round_to_f16(float f) {
  float r = f16_to_f32(f32_to_f16_bits(f));
  if (!(r > 0.0f)) r = f16_to_f32(1);  // the smallest positive half: never a zero scale
  return r;
}

}  // namespace

Grid find_grid(const float* values, int64_t count, int64_t stride, const GroupQuantParams& p) {
  const int32_t maxq = (1 << p.bits) - 1;
  float lo = values[0], hi = values[0];
  for (int64_t k = 1; k < count; ++k) {
    lo = std::min(lo, values[k * stride]);
    hi = std::max(hi, values[k * stride]);
  }
  Grid g;
  if (p.rule == GridRule::kAwq) {
    // The zero point comes from the unrounded scale, the codes from the stored (fp16) one, as
    // quantpack.py's reference packers do.
    const float scale = std::max(hi - lo, 1e-5f) / static_cast<float>(maxq);
    g.zero = std::clamp(static_cast<int32_t>(-std::nearbyint(lo / scale)), 0, maxq);
    g.scale = round_to_f16(scale);
    return g;
  }
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (p.sym) {
    hi = std::max(-lo, hi);
    if (lo < 0) lo = -hi;
  }
  if (lo == 0.0f && hi == 0.0f) {
    lo = -1.0f;
    hi = 1.0f;
  }
  const float scale = (hi - lo) / static_cast<float>(maxq);
  g.zero = p.sym ? (maxq + 1) / 2 : static_cast<int32_t>(std::nearbyint(-lo / scale));
  g.zero = std::clamp(g.zero, 0, maxq);
  g.scale = round_to_f16(scale);
  return g;
}

int32_t quantize_value(float w, const Grid& g, int32_t maxq) {
  return std::clamp(static_cast<int32_t>(std::nearbyint(w / g.scale)) + g.zero, 0, maxq);
}

GroupQuantized rtn_quantize(const float* w, int64_t out_features, int64_t in_features,
                            const GroupQuantParams& p) {
  GroupQuantized r;
  r.out_features = out_features;
  r.in_features = in_features;
  r.bits = p.bits;
  r.group_size = p.group_size == -1 ? in_features : p.group_size;
  r.num_groups = in_features / r.group_size;
  r.q.resize(static_cast<size_t>(out_features * in_features));
  r.scales.resize(static_cast<size_t>(r.num_groups * out_features));
  r.zeros.resize(r.scales.size());
  r.g_idx.resize(static_cast<size_t>(in_features));
  for (int64_t i = 0; i < in_features; ++i) r.g_idx[i] = static_cast<int32_t>(i / r.group_size);
  const int32_t maxq = (1 << p.bits) - 1;
  for (int64_t o = 0; o < out_features; ++o) {
    const float* row = w + o * in_features;
    for (int64_t g = 0; g < r.num_groups; ++g) {
      const Grid grid = find_grid(row + g * r.group_size, r.group_size, 1, p);
      r.scales[g * out_features + o] = f32_to_f16_bits(grid.scale);
      r.zeros[g * out_features + o] = grid.zero;
      for (int64_t k = 0; k < r.group_size; ++k) {
        const int64_t i = g * r.group_size + k;
        r.q[o * in_features + i] = static_cast<uint8_t>(quantize_value(row[i], grid, maxq));
      }
    }
  }
  return r;
}

}  // namespace fathom::quant
