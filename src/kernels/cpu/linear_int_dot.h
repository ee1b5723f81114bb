// The x86 integer dot-product linear kernel for int8 and int4 weights (few rows and many), shared
// by the instruction-set files like linear_rows.h: include it AFTER the file's
// `#pragma GCC target` and instantiate it with a Traits type of that file's own:
//   Traits::VI, VF, kBytes      integer and float vectors; kBytes int8 lanes (32 or 64)
//   zero(), to_f(VI), fmadd(VF, VF, VF), set1(float), reduce(VF)
//   load<kHalf>(p)              kBytes int8 (kHalf: kBytes / 2, upper lanes zero)
//   load_q4<kHalf>(p)           the int4 codes of kBytes columns (kBytes / 2 bytes) in chunk
//                               order (linear_int_x.h), as unsigned bytes 0..15
//   dot_us(acc, u, s)           acc[i] += sum of 4 products u8 x s8 (vpdpbusd; vpmaddubsw +
//                               vpmaddwd on AVX2, exact while pairs stay within int16)
//   dot_q8(acc, x, w)           acc += x . w for int8 weights w: vpdpbusd of x offset to u8
//                               (kQ8Offset: the kernel subtracts 128 * sum w, got from one more
//                               vpdpbusd per weight vector that every row and limb shares), or
//                               AVX2's sign trick |w| . sign(x, w) (x in -127..127, reduced only)
//
// One call computes y[rows, kMo outputs]: per block of x (linear_int_x.h) int32 sums per
// (output, row, limb) in registers, then in floats scaled by weight scale x block scale. Int4
// codes enter unsigned; their zero points come off as zero * sum of the block's x codes
// (IntX::code_sum), once per block.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/int_tile_rows.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/weight_element.h"

namespace fathom::kernels::cpu {

/// Steps of int4 codes (<= 15) against int8 digits (>= -128) whose int16 pair sums add up
/// without overflow: 8 x 2 x 15 x 128 < 2^15.
inline constexpr int kPairSteps = 8;

/// One block's dot product from its limbs' int32 sums (the kQ8Offset correction c taken off
/// int8 weights' sums first) as floats: 65536 h + 256 m + l for three limbs.
template <class T, int L, bool kInt4>
typename T::VF limb_sum(const typename T::VI (&acc)[L], typename T::VI c) {
  typename T::VF v[L];
#pragma GCC unroll 3
  for (int k = 0; k < L; ++k) {
    typename T::VI s = acc[k];
    if constexpr (!kInt4 && T::kQ8Offset) s = T::sub(s, c);
    v[k] = T::to_f(s);
  }
  typename T::VF sum = v[L - 1];
  if constexpr (L == 3)
    sum = T::fmadd(v[0], T::set1(65536.0f), T::fmadd(v[1], T::set1(256.0f), sum));
  return sum;
}

template <class T, int MO, int MR, int L, bool kInt4>
void int_dot_tile(const LinearWeight& w, const IntX& qx, int64_t o0, int mo, int64_t r0,
                  const float* x, float* y) {
  using VI = typename T::VI;
  using VF = typename T::VF;
  const int64_t in = w.in_features, out = w.out_features, span = qx.span, nb = qx.num_blocks;
  const int8_t* q8[MO];
  const uint8_t* q4[MO];
  int64_t o[MO];
  int_tile_rows<MO, kInt4>(w, o0, mo, o, q8, q4);
  const int8_t* xr[MR][L];
  for (int r = 0; r < MR; ++r)
    for (int k = 0; k < L; ++k) xr[r][k] = qx.limb(r0 + r, k);
  VF tot[MO][MR];
  float corr[MO][MR] = {};  // int4: sum over blocks of scale * zero * x's code sum
  for (auto& a : tot)
    for (VF& v : a) v = T::set1(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t j0 = b * qx.block, j1 = std::min(j0 + qx.block, span);
    VI acc[MO][MR][L], c[MO];
#pragma GCC unroll 4
    for (int m = 0; m < MO; ++m) {
      c[m] = T::zero();
      for (int r = 0; r < MR; ++r)
        for (int k = 0; k < L; ++k) acc[m][r][k] = T::zero();
    }
    const auto step = [&]<bool kHalf>(int64_t j) __attribute__((always_inline)) {
      VI wv[MO];
#pragma GCC unroll 4
      for (int m = 0; m < MO; ++m) {
        if constexpr (kInt4) {
          wv[m] = T::template load_q4<kHalf>(q4[m] + j / 2);
        } else {
          wv[m] = T::template load<kHalf>(q8[m] + j);
          if constexpr (T::kQ8Offset) c[m] = T::dot_us(c[m], T::offset_bytes(), wv[m]);
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r)
#pragma GCC unroll 3
        for (int k = 0; k < L; ++k) {
          const VI xv = T::template load<kHalf>(xr[r][k] + j);
#pragma GCC unroll 4
          for (int m = 0; m < MO; ++m)
            acc[m][r][k] =
                kInt4 ? T::dot_us(acc[m][r][k], wv[m], xv) : T::dot_q8(acc[m][r][k], xv, wv[m]);
        }
    };
    int64_t j = j0;
    for (; j + T::kBytes <= j1; j += T::kBytes) step.template operator()<false>(j);
    if constexpr (T::kBytes > 32)  // blocks are whole 32-column chunks: at most one half step
      if (j < j1) step.template operator()<true>(j);
#pragma GCC unroll 4
    for (int m = 0; m < MO; ++m) {
      const int64_t og = o[m] * w.num_groups + b;
      const float ws = kInt4 ? w.group_scale[og] : w.channel_scale[o[m]];
      for (int r = 0; r < MR; ++r) {
        const int64_t rb = (r0 + r) * nb + b;
        tot[m][r] =
            T::fmadd(limb_sum<T, L, kInt4>(acc[m][r], c[m]), T::set1(ws * qx.scale[rb]), tot[m][r]);
        if constexpr (kInt4)
          corr[m][r] += ws * static_cast<float>(w.group_zero[og]) * qx.code_sum[rb];
      }
    }
  }
  for (int m = 0; m < mo; ++m)
    for (int r = 0; r < MR; ++r) {
      const float* xrow = x + (r0 + r) * in;
      float s = T::reduce(tot[m][r]) - corr[m][r];
      for (int64_t j = span; j < in; ++j) s += xrow[j] * detail::weight_element(w, o[m], j);
      y[(r0 + r) * out + o[m]] = s;
    }
}

// Outputs [o_begin, o_end) of x row r (decode), one at a time: the sums of
// int_dot_tile<T, 1, 1, L, kInt4> (integers, so the same result) with plain locals, which GCC 12
// keeps in registers where the tile's one-element arrays and step lambda spilled. Steps go in
// groups that read one 64-byte line of weights, with one prefetch kStreamPrefetchBytes ahead
// (int_tile_rows.h) per group. With T::kPairSums16 (AVX2) an int4 group keeps vpmaddubsw's int16
// pair sums and widens them once (a group is at most kPairSteps steps): fewer instructions per
// step, which is what limits the three limbs of kExact x.
template <class T, bool kInt4, int L>
void int_dot_one(const LinearWeight& w, const IntX& qx, int64_t r, const float* x, float* y,
                 int64_t o_begin, int64_t o_end) {
  using VI = typename T::VI;
  using VF = typename T::VF;
  constexpr int64_t kStepBytes = kInt4 ? T::kBytes / 2 : T::kBytes;  // weight bytes per step
  constexpr int kGroup = kStepBytes >= 64 ? 1 : static_cast<int>(64 / kStepBytes);
  constexpr bool kPairs = kInt4 && T::kPairSums16;
  static_assert(!kPairs || kGroup <= kPairSteps);
  const int64_t in = w.in_features, span = qx.span, nb = qx.num_blocks, block = qx.block;
  const int8_t* xr = qx.limb(r, 0);
  const float* scale = qx.scale.data() + r * nb;
  const float* code_sum = qx.code_sum.data() + r * nb;
  const int8_t* q8 = nullptr;  // output o's row
  const uint8_t* q4 = nullptr;
  const auto weights = [&](int64_t j) __attribute__((always_inline)) {
    return kInt4 ? static_cast<const void*>(q4 + (j >> 1)) : q8 + j;
  };
  VI acc[L], pairs[L], c;
  // Columns [j, j + kBytes) (kHalf: kBytes / 2) into acc, or pairs with kPairs.
  const auto step = [&]<bool kHalf>(int64_t j) __attribute__((always_inline)) {
    VI wv;
    if constexpr (kInt4) {
      wv = T::template load_q4<kHalf>(q4 + (j >> 1));
    } else {
      wv = T::template load<kHalf>(q8 + j);
      if constexpr (T::kQ8Offset) c = T::dot_us(c, T::offset_bytes(), wv);
    }
#pragma GCC unroll 3
    for (int k = 0; k < L; ++k) {
      const VI xv = T::template load<kHalf>(xr + k * span + j);
      if constexpr (kPairs)
        pairs[k] = T::add_pairs16(pairs[k], wv, xv);
      else
        acc[k] = kInt4 ? T::dot_us(acc[k], wv, xv) : T::dot_q8(acc[k], xv, wv);
    }
  };
  const auto widen = [&]() __attribute__((always_inline)) {
    if constexpr (kPairs)
#pragma GCC unroll 3
      for (int k = 0; k < L; ++k) {
        acc[k] = T::widen_pairs16(acc[k], pairs[k]);
        pairs[k] = T::zero();
      }
  };
  for (int64_t o = o_begin; o < o_end; ++o) {
    if constexpr (kInt4)
      q4 = w.q4 + o * ((in + 1) / 2);
    else
      q8 = w.q8 + o * in;
    VF tot = T::set1(0.0f);
    float corr = 0.0f;
    const float* gs = kInt4 ? w.group_scale + o * w.num_groups : nullptr;
    if constexpr (kInt4) {  // the zero points: a sum apart from the blocks' dependency chains
      const uint8_t* gz = w.group_zero + o * w.num_groups;
      __builtin_prefetch(gs + 256, 0, 3);
      __builtin_prefetch(gz + 256, 0, 3);
      for (int64_t b = 0; b < nb; ++b) corr += gs[b] * static_cast<float>(gz[b]) * code_sum[b];
    }
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t j0 = b * block, j1 = std::min(j0 + block, span);
      c = T::zero();
#pragma GCC unroll 3
      for (int k = 0; k < L; ++k) acc[k] = pairs[k] = T::zero();
      int64_t j = j0;
      for (; j + kGroup * T::kBytes <= j1; j += kGroup * T::kBytes) {
        stream_prefetch(weights(j));
#pragma GCC unroll 4
        for (int s = 0; s < kGroup; ++s) step.template operator()<false>(j + s * T::kBytes);
        widen();
      }
      for (; j + T::kBytes <= j1; j += T::kBytes) {
        stream_prefetch(weights(j));
        step.template operator()<false>(j);
        widen();
      }
      if constexpr (T::kBytes > 32)  // blocks are whole 32-column chunks: at most one half step
        if (j < j1) {
          step.template operator()<true>(j);
          widen();
        }
      const float ws = kInt4 ? gs[b] : w.channel_scale[o];
      tot = T::fmadd(limb_sum<T, L, kInt4>(acc, c), T::set1(ws * scale[b]), tot);
    }
    float s = T::reduce(tot) - corr;
    const float* xrow = x + r * in;
    for (int64_t j = span; j < in; ++j) s += xrow[j] * detail::weight_element(w, o, j);
    y[r * w.out_features + o] = s;
  }
}

template <class T, int MO, int MR, int L, bool kInt4>
void int_dot_rows(const LinearWeight& w, const IntX& qx, const float* x, float* y, int64_t r_begin,
                  int64_t num_rows, int64_t o_begin, int64_t o_end) {
  for (int64_t o0 = o_begin; o0 < o_end; o0 += MO) {
    const int mo = static_cast<int>(std::min<int64_t>(MO, o_end - o0));
    int64_t r = r_begin;
    for (; r + MR <= r_begin + num_rows; r += MR)
      int_dot_tile<T, MO, MR, L, kInt4>(w, qx, o0, mo, r, x, y);
    for (; r < r_begin + num_rows; ++r) int_dot_tile<T, MO, 1, L, kInt4>(w, qx, o0, mo, r, x, y);
  }
}

template <class T, int MO, int MR, int L>
void int_dot_format(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                    int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end) {
  if (w.format == WeightFormat::kInt4Grouped)
    return int_dot_rows<T, MO, MR, L, true>(w, qx, x, y, r_begin, num_rows, o_begin, o_end);
  int_dot_rows<T, MO, MR, L, false>(w, qx, x, y, r_begin, num_rows, o_begin, o_end);
}

/// y[r_begin, r_begin + num_rows) x [o_begin, o_end) (absolute indices; x, y and qx whole).
/// PRECOND: int_dot_applies(w), qx = quantize_x(w, x, ...) for T's ISA.
template <class T>
void run_int_dot(const LinearWeight& w, const IntX& qx, const float* x, float* y, int64_t r_begin,
                 int64_t num_rows, int64_t o_begin, int64_t o_end) {
  if (num_rows == 1) {  // decode
    const bool int4 = w.format == WeightFormat::kInt4Grouped;
    auto* one = qx.limbs == 3 ? (int4 ? &int_dot_one<T, true, 3> : &int_dot_one<T, false, 3>)
                              : (int4 ? &int_dot_one<T, true, 1> : &int_dot_one<T, false, 1>);
    return one(w, qx, r_begin, x, y, o_begin, o_end);
  }
  const bool stream = num_rows < kStreamRowsBelow;  // one output at a time (int_tile_rows.h)
  auto* run = qx.limbs == 3 ? (stream ? &int_dot_format<T, 1, 2, 3> : &int_dot_format<T, 2, 2, 3>)
                            : (stream ? &int_dot_format<T, 1, 2, 1> : &int_dot_format<T, 4, 3, 1>);
  run(w, qx, x, y, r_begin, num_rows, o_begin, o_end);
}

}  // namespace fathom::kernels::cpu
