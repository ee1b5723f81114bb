// llama.cpp's k-quant searches, read from ggml-quants.c (make_qkx2_quants, make_qkx3_quants,
// make_qx_quants, make_qp_quants and quantize_row_q{4,5,6}_K_ref / _impl) and written again
// here: the same candidate scales, the same weights and the same order of operations, so the
// blocks are the ones llama-quantize writes for the same input.
#include "kernels/ggml_kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/ggml_blocks.h"
#include "kernels/ref/ggml_block_pack.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

constexpr int kQK_K = 256;
constexpr float kGroupMaxEps = 1e-15f;  // ggml-quants.c GROUP_MAX_EPS

// Round half to even, as ggml-quants.c nearest_int does it: adding 1.5 * 2^23 leaves the
// rounded integer in the low mantissa bits (no libm call in the inner loops). Exact for
// |v| < 2^22; larger values are clamped first (every caller clamps the code anyway).
int nearest(float v) {
  float val = std::clamp(v, -4194303.f, 4194303.f) + 12582912.f;
  int32_t i;
  std::memcpy(&i, &val, 4);
  return (i & 0x007fffff) - 0x00400000;
}
float f16_round(float v) { return f16_to_f32(f32_to_f16(v)); }

// Asymmetric codes L in [0, nmax] for x ~ scale * L - the_min, minimising sum w (x - q)^2.
// The first guess spans [min(0, min x), max x]; then nstep + 1 candidate inverse scales
// (rmin + rdelta * is + nmax) / (max - min) each get the least-squares scale and min of their
// codes, keeping the best. make_qkx2_quants and make_qkx3_quants differ only in the default
// weights when none are given (the callers here always give them).
float make_qkx_quants(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                      float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max <= min) {
    std::memset(L, 0, static_cast<size_t>(n));
    *the_min = -min;
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_mad = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(nearest(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_mad += w[i] * diff * diff;
  }
  uint8_t aux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest(iscale * (x[i] - min)), 0, nmax);
      aux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * static_cast<float>(l);
      sum_l2 += w[i] * static_cast<float>(l * l);
      sum_xl += w[i] * static_cast<float>(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float mad = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * aux[i] + this_min - x[i];
      mad += w[i] * diff * diff;
    }
    if (mad < best_mad) {
      std::memcpy(L, aux, static_cast<size_t>(n));
      best_mad = mad;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// Symmetric codes for x ~ scale * (L - nmax), L in [0, 2 nmax): the scale that maps the
// largest magnitude to -nmax, and 18 neighbours, by weighted least squares (make_qx_quants with
// rmse_type 1: weights x^2 unless qw is given). Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* qw) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.f;
  }
  auto weight = [&](int i) { return qw ? qw[i] : x[i] * x[i]; };
  auto code = [&](float iscale, int i) {
    return std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1);
  };
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = code(iscale, i);
    L[i] = static_cast<int8_t>(l + nmax);
    sumlx += weight(i) * x[i] * static_cast<float>(l);
    suml2 += weight(i) * static_cast<float>(l * l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = code(iscale, i);
      sumlx += weight(i) * x[i] * static_cast<float>(l);
      suml2 += weight(i) * static_cast<float>(l * l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + code(iscale, i));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Non-negative codes L in [0, nmax] for the sub-block scales x ~ scale * L, weighted by each
// sub-block's total weight (make_qp_quants): 9 candidate scales, then up to 5 rounds of
// moving single codes while the weighted fit improves. Returns the scale.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max == 0) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / max;
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nearest(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * L[i];
    best_mse += w[i] * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * static_cast<float>(is) + static_cast<float>(nmax)) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, nearest(iscale_is * x[i]));
      const float diff = x[i] - scale_is * static_cast<float>(l);
      mse += w[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest(iscale * x[i]));
    L[i] = static_cast<uint8_t>(l);
    sumlx += w[i] * x[i] * static_cast<float>(l);
    suml2 += w[i] * static_cast<float>(l * l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      float slx = sumlx - w[i] * x[i] * L[i];
      float sl2 = suml2 - w[i] * static_cast<float>(L[i] * L[i]);
      if (slx > 0 && sl2 > 0) {
        const int new_l = std::min(nmax, nearest(x[i] * sl2 / slx));
        if (new_l != L[i]) {
          slx += w[i] * x[i] * static_cast<float>(new_l);
          sl2 += w[i] * static_cast<float>(new_l * new_l);
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<uint8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  return sumlx / suml2;
}

// One Q4_K (bits 4) or Q5_K (bits 5) super-block. Without importance: quantize_row_q{4,5}_K_ref
// (weights av_x + |x|, 21 candidates from rmin -1 in steps of 0.1 for Q4_K; Q5_K's ref uses
// rmin -0.5, step 0.1, 15 steps), then scales and mins linearly to 6 bits. With importance:
// quantize_row_q{4,5}_K_impl (weights imp * sqrt(sigma2 + x^2), 37 candidates from -0.9 in
// 0.05 steps, then make_qp_quants for the 6-bit scales and mins weighted by each sub-block's
// total weight).
void encode_q45_k(const float* x, const float* imp, int bits, uint8_t* b) {
  const int nmax = (1 << bits) - 1;
  uint8_t L[kQK_K], ls[8], lm[8];
  float scales[8], mins[8], w[32], sw[8];
  float sum_x2 = 0;
  for (int l = 0; l < kQK_K; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / kQK_K;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    if (imp) {
      for (int l = 0; l < 32; ++l) w[l] = imp[32 * j + l] * std::sqrt(sigma2 + xs[l] * xs[l]);
      float sumw = 0;
      for (int l = 0; l < 32; ++l) sumw += w[l];
      sw[j] = sumw;
      scales[j] = make_qkx_quants(32, nmax, xs, w, L + 32 * j, &mins[j], -0.9f, 0.05f, 36);
    } else {
      float s2 = 0;
      for (int l = 0; l < 32; ++l) s2 += xs[l] * xs[l];
      const float av_x = std::sqrt(s2 / 32);
      for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);
      scales[j] = bits == 4
                      ? make_qkx_quants(32, nmax, xs, w, L + 32 * j, &mins[j], -1.f, 0.1f, 20)
                      : make_qkx_quants(32, nmax, xs, w, L + 32 * j, &mins[j], -0.5f, 0.1f, 15);
    }
  }
  float d, dmin;
  if (imp) {
    d = make_qp_quants(8, 63, scales, ls, sw);
    dmin = make_qp_quants(8, 63, mins, lm, sw);
  } else {
    const float max_scale = *std::max_element(scales, scales + 8);
    const float max_min = std::max(0.f, *std::max_element(mins, mins + 8));
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < 8; ++j) {
      ls[j] = static_cast<uint8_t>(std::clamp(nearest(inv_scale * scales[j]), 0, 63));
      lm[j] = static_cast<uint8_t>(std::clamp(nearest(inv_min * mins[j]), 0, 63));
    }
    d = max_scale / 63.f;
    dmin = max_min / 63.f;
  }
  d = f16_round(d);
  dmin = f16_round(dmin);
  // The codes again against the stored (f16, 6-bit) scales and mins.
  for (int j = 0; j < 8; ++j) {
    const float dj = d * ls[j];
    if (dj == 0) continue;
    const float dm = dmin * lm[j];
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest((x[32 * j + i] + dm) / dj), 0, nmax));
  }
  pack_q45_k(d, dmin, ls, lm, L, bits, b);
}

// One Q6_K super-block (quantize_row_q6_K_ref / _impl): make_qx_quants per 16 elements, the 16
// scales to int8 against the largest, the codes again against the stored scales.
void encode_q6_k(const float* x, const float* imp, uint8_t* b) {
  int8_t L[kQK_K];
  float scales[16], max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, imp ? imp + 16 * ib : nullptr);
    if (std::fabs(scales[ib]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }
  int8_t sc[16] = {};
  uint8_t codes[kQK_K] = {};
  if (max_abs_scale < kGroupMaxEps) {
    pack_q6_k(0.f, sc, codes, b);
    std::memset(b, 0, 192);  // llama.cpp zeroes the whole block
    return;
  }
  const float iscale = -128.f / max_scale;
  const float d = f16_round(1 / iscale);
  for (int ib = 0; ib < 16; ++ib)
    sc[ib] = static_cast<int8_t>(std::min(127, nearest(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    const float dj = d * sc[j];
    if (dj == 0) {
      for (int i = 0; i < 16; ++i) codes[16 * j + i] = static_cast<uint8_t>(L[16 * j + i]);
      continue;
    }
    for (int i = 0; i < 16; ++i)
      codes[16 * j + i] =
          static_cast<uint8_t>(std::clamp(nearest(x[16 * j + i] / dj), -32, 31) + 32);
  }
  pack_q6_k(d, sc, codes, b);
}

}  // namespace

void ggml_quantize_rows(GgmlType t, const float* x, int64_t rows, int64_t cols,
                        const float* importance, uint8_t* dst) {
  if (t != GgmlType::kQ4_K && t != GgmlType::kQ5_K && t != GgmlType::kQ6_K)
    return ggml_quantize(t, x, rows * cols, dst);
  const int64_t bb = ggml_block_bytes(t), blocks = cols / kQK_K;
  // Rows are independent: spread over the pool (a 1.5B model has millions of super-blocks).
  default_thread_pool().parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t k = 0; k < blocks; ++k) {
        const float* xb = x + r * cols + k * kQK_K;
        const float* ib = importance ? importance + k * kQK_K : nullptr;
        uint8_t* out = dst + (r * blocks + k) * bb;
        if (t == GgmlType::kQ6_K)
          encode_q6_k(xb, ib, out);
        else
          encode_q45_k(xb, ib, t == GgmlType::kQ4_K ? 4 : 5, out);
      }
    }
  });
}

}  // namespace fathom::kernels
