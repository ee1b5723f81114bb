// The x86 integer dot-product kernels for GGML blocks (kernels/ggml_int.h), llama.cpp's
// vec_dot_q8_0_q8_0, vec_dot_q{4,5}_0_q8_0 and vec_dot_q{4,5,6}_K_q8_K: x as int8 codes with one
// scale per weight block (IntX, kReduced), 32 columns per ymm. Shared by the AVX2, AVX-VNNI and
// AVX-512 VNNI files like linear_int_dot.h: include AFTER the file's `#pragma GCC target` (avx2,
// fma and f16c at least) and instantiate with a Traits type deriving from linear_int_ymm.h's
// YmmOps:
//   dot_us(acc, u, s)            acc[i] += sum of 4 products u8 x s8 (u <= 63, |s| <= 127)
//   scales(bytes, a, b)          the factors of dot_us_scaled for a 32-column chunk whose columns
//                                0..15 take the int8 bytes[a] and columns 16..31 bytes[b]
//   dot_us_scaled(acc, u, s, f)  acc += per 16 columns (u . s) x factor (AVX2: vpmaddubsw then
//                                vpmaddwd by int16 factors; VNNI: vpdpbusd then vpmulld)
//
// Per weight block and (output, row) the int32 lanes hold the exact sum of code x scale x q
// (ggml_int.h); the k-quants' mins (Q4_K) and code offset 32 (Q6_K) come off as sub-block factor
// x IntX::sums16 (vpmaddwd) in int32 too, as do Q4_0's offset 8 and Q5_0's 16. Each block then adds
// d (and dmin) x x's scale in fp32, so the result is linear_ref_reduced's up to fp32 rounding.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/int_tile_rows.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/linear_weight.h"
#include "tensor/ggml_type.h"

namespace fathom::kernels::cpu::ggml_int {

inline float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The rows and outputs of one register tile: weight row pointers (the last output repeated
// where fewer than MO remain), x code rows, and fp32 sums.
template <int MO, int MR>
struct Tile {
  const uint8_t* w[MO];
  const int8_t* x[MR];
  __m256 tot[MO][MR];

  Tile(const LinearWeight& lw, const IntX& qx, int64_t o0, int mo, int64_t r0) {
    const int64_t row_bytes = ggml_row_bytes(lw.ggml_type, lw.in_features);
    for (int m = 0; m < MO; ++m)
      w[m] = static_cast<const uint8_t*>(lw.values) + (o0 + std::min(m, mo - 1)) * row_bytes;
    for (int r = 0; r < MR; ++r) x[r] = qx.limb(r0 + r, 0);
    for (auto& t : tot)
      for (__m256& v : t) v = _mm256_setzero_ps();
  }
};

// block_q8_0 {f16 d; i8 qs[32]}: |w| . sign(x, w) (codes signed on both sides).
template <class T, int MO, int MR>
void q8_0_tile(const LinearWeight& lw, const IntX& qx, Tile<MO, MR>& t, int64_t r0) {
  const int64_t nb = lw.in_features / 32;
  for (int64_t b = 0; b < nb; ++b) {
#pragma GCC unroll 4
    for (int m = 0; m < MO; ++m) {
      const uint8_t* blk = t.w[m] + b * 34;
      const float d = load_half(blk);
      const __m256i wv = loadu(blk + 2), wa = _mm256_abs_epi8(wv);
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        const __m256i s = _mm256_sign_epi8(loadu(t.x[r] + b * 32), wv);
        const __m256i acc = T::dot_us(_mm256_setzero_si256(), wa, s);
        const float f = d * qx.scale[(r0 + r) * nb + b];
        t.tot[m][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(f), t.tot[m][r]);
      }
    }
  }
}

// Bit j of `bits` as bit 4 of byte j (0x10 or 0).
inline __m256i bits_to_bit4(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(  // byte j = byte j / 8 of bits
      _mm256_set1_epi32(static_cast<int32_t>(bits)),
      _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i select = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select),
                          _mm256_set1_epi8(0x10));
}

// block_q4_0 {f16 d; u8 qs[16]}: low nibbles are columns 0..15, high nibbles 16..31, minus 8.
// block_q5_0 (kFive) {f16 d; u8 qh[4]; u8 qs[16]} adds bit j of qh as bit 4 of column j, minus
// 16. The offset comes off as x's code sum times 8 (16) in int32.
template <class T, int MO, int MR, bool kFive>
void q45_0_tile(const LinearWeight& lw, const IntX& qx, Tile<MO, MR>& t, int64_t r0) {
  constexpr int64_t kBlockBytes = kFive ? 22 : 18, kQs = kFive ? 6 : 2;
  const int64_t nb = lw.in_features / 32, n16 = qx.span / 16;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i offset[MR];  // the offset x the code sum, over 8 lanes
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      const int16_t* s16 = qx.sums16.data() + (r0 + r) * n16 + 2 * b;
      offset[r] = _mm256_set1_epi32((int32_t{s16[0]} + s16[1]) * (kFive ? 2 : 1));
    }
#pragma GCC unroll 4
    for (int m = 0; m < MO; ++m) {
      const uint8_t* blk = t.w[m] + b * kBlockBytes;
      const float d = load_half(blk);
      __m256i q = T::template load_q4<false>(blk + kQs);
      if constexpr (kFive) {
        uint32_t qh;
        std::memcpy(&qh, blk + 2, 4);
        q = _mm256_or_si256(q, bits_to_bit4(qh));
      }
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        const __m256i acc = T::dot_us(_mm256_setzero_si256(), q, loadu(t.x[r] + b * 32));
        const float f = d * qx.scale[(r0 + r) * nb + b];
        t.tot[m][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc, offset[r])),
                                      _mm256_set1_ps(f), t.tot[m][r]);
      }
    }
  }
}

// block_q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}: sub-block s of 32 columns is the low
// (s even) or high nibbles of qs[32 (s / 2), + 32). block_q5_K (kFive) {f16 d, dmin;
// u8 scales[12]; u8 qh[32]; u8 qs[128]} adds bit s of qh[l] as bit 4 of column 32 s + l.
template <class T, int MO, int MR, bool kFive>
void q45_k_tile(const LinearWeight& lw, const IntX& qx, Tile<MO, MR>& t, int64_t r0) {
  constexpr int64_t kBlockBytes = kFive ? 176 : 144, kQs = kFive ? 48 : 16;
  const int64_t nsb = lw.in_features / 256, n16 = qx.span / 16;
  const __m256i low4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
  for (int64_t sb = 0; sb < nsb; ++sb) {
#pragma GCC unroll 4
    for (int m = 0; m < MO; ++m) {
      const uint8_t* blk = t.w[m] + sb * kBlockBytes;
      const float d = load_half(blk), dmin = load_half(blk + 2);
      // The 6-bit scales and mins unpacked as in llama.cpp: bytes 0..7 scales, 8..15 mins.
      uint32_t u[4];
      std::memcpy(u, blk + 4, 12);
      constexpr uint32_t kMask1 = 0x3f3f3f3f, kMask2 = 0x0f0f0f0f, kMask3 = 0x03030303;
      u[3] = ((u[2] >> 4) & kMask2) | (((u[1] >> 6) & kMask3) << 4);
      const uint32_t mins_lo = u[1] & kMask1;
      u[1] = (u[2] & kMask2) | (((u[0] >> 6) & kMask3) << 4);
      u[2] = mins_lo;
      u[0] &= kMask1;
      const __m128i sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
      const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));  // per 16 columns
      __m256i acc[MR];
      for (__m256i& a : acc) a = _mm256_setzero_si256();
      __m256i qh = kFive ? loadu(blk + 16) : _mm256_setzero_si256();  // bit s -> bit 0 next
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        const __m256i qb = loadu(blk + kQs + 32 * i);
        __m256i lo = _mm256_and_si256(qb, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), low4);
        if constexpr (kFive) {
          lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
          hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit4));
          qh = _mm256_srli_epi16(qh, 2);
        }
        const __m256i flo = T::scales(sm, 2 * i, 2 * i), fhi = T::scales(sm, 2 * i + 1, 2 * i + 1);
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
          const int8_t* xb = t.x[r] + sb * 256 + 64 * i;
          acc[r] = T::dot_us_scaled(acc[r], lo, loadu(xb), flo);
          acc[r] = T::dot_us_scaled(acc[r], hi, loadu(xb + 32), fhi);
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        const __m256i min_dot =
            _mm256_madd_epi16(mins16, loadu(qx.sums16.data() + (r0 + r) * n16 + sb * 16));
        const float sx = qx.scale[(r0 + r) * nsb + sb];
        t.tot[m][r] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r]), _mm256_set1_ps(d * sx), t.tot[m][r]);
        t.tot[m][r] =
            _mm256_fnmadd_ps(_mm256_cvtepi32_ps(min_dot), _mm256_set1_ps(dmin * sx), t.tot[m][r]);
      }
    }
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: half n of 128 columns is chunks
// k = 0..3 of 32: low nibbles of ql[64 n + 32 (k & 1), + 32] (high nibbles for k >= 2) and bits
// 2k, 2k + 1 of qh[32 n, + 32], code minus 32, a scale per 16 columns.
template <class T, int MO, int MR>
void q6_k_tile(const LinearWeight& lw, const IntX& qx, Tile<MO, MR>& t, int64_t r0) {
  const int64_t nsb = lw.in_features / 256, n16 = qx.span / 16;
  const __m256i low4 = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
  for (int64_t sb = 0; sb < nsb; ++sb) {
#pragma GCC unroll 4
    for (int m = 0; m < MO; ++m) {
      const uint8_t* blk = t.w[m] + sb * 210;
      const float d = load_half(blk + 208);
      const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
      __m256i acc[MR];
      for (__m256i& a : acc) a = _mm256_setzero_si256();
#pragma GCC unroll 2
      for (int n = 0; n < 2; ++n) {
        const __m256i ql0 = loadu(blk + 64 * n), ql1 = loadu(blk + 64 * n + 32);
        const __m256i qh = loadu(blk + 128 + 32 * n);
        const __m256i q[4] = {_mm256_or_si256(_mm256_and_si256(ql0, low4),
                                              _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
                              _mm256_or_si256(_mm256_and_si256(ql1, low4),
                                              _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
                              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                                              _mm256_and_si256(qh, bits45)),
                              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                              _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45))};
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m256i f = T::scales(sc, 8 * n + 2 * k, 8 * n + 2 * k + 1);
#pragma GCC unroll 4
          for (int r = 0; r < MR; ++r)
            acc[r] = T::dot_us_scaled(acc[r], q[k], loadu(t.x[r] + sb * 256 + 128 * n + 32 * k), f);
        }
      }
      const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {  // minus 32 x sum over sub-blocks of scale x code sum
        const __m256i offset =
            _mm256_madd_epi16(sc16, loadu(qx.sums16.data() + (r0 + r) * n16 + sb * 16));
        const __m256i s = _mm256_sub_epi32(acc[r], _mm256_slli_epi32(offset, 5));
        const float sx = qx.scale[(r0 + r) * nsb + sb];
        t.tot[m][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(d * sx), t.tot[m][r]);
      }
    }
  }
}

template <class T, int MO, int MR>
void tile(const LinearWeight& lw, const IntX& qx, int64_t o0, int mo, int64_t r0, float* y) {
  Tile<MO, MR> t(lw, qx, o0, mo, r0);
  switch (lw.ggml_type) {
    case GgmlType::kQ8_0:
      q8_0_tile<T>(lw, qx, t, r0);
      break;
    case GgmlType::kQ4_0:
      q45_0_tile<T, MO, MR, false>(lw, qx, t, r0);
      break;
    case GgmlType::kQ5_0:
      q45_0_tile<T, MO, MR, true>(lw, qx, t, r0);
      break;
    case GgmlType::kQ4_K:
      q45_k_tile<T, MO, MR, false>(lw, qx, t, r0);
      break;
    case GgmlType::kQ5_K:
      q45_k_tile<T, MO, MR, true>(lw, qx, t, r0);
      break;
    case GgmlType::kQ6_K:
      q6_k_tile<T>(lw, qx, t, r0);
      break;
    default:
      return;  // int_dot_applies admits no other type
  }
  for (int m = 0; m < mo; ++m)
    for (int r = 0; r < MR; ++r) y[(r0 + r) * lw.out_features + o0 + m] = T::reduce(t.tot[m][r]);
}

template <class T, int MO, int MR>
void run_tiles(const LinearWeight& lw, const IntX& qx, float* y, int64_t r_begin, int64_t num_rows,
               int64_t o_begin, int64_t o_end) {
  for (int64_t o0 = o_begin; o0 < o_end; o0 += MO) {
    const int mo = static_cast<int>(std::min<int64_t>(MO, o_end - o0));
    int64_t r = r_begin;
    for (; r + MR <= r_begin + num_rows; r += MR) tile<T, MO, MR>(lw, qx, o0, mo, r, y);
    for (; r < r_begin + num_rows; ++r) tile<T, MO, 1>(lw, qx, o0, mo, r, y);
  }
}

/// y[r_begin, r_begin + num_rows) x [o_begin, o_end) (absolute indices; y and qx whole).
/// PRECOND: lw is kGgml with ggml_int_type, qx = quantize_x(lw, x, ..., kReduced, ...).
template <class T>
void run(const LinearWeight& lw, const IntX& qx, float* y, int64_t r_begin, int64_t num_rows,
         int64_t o_begin, int64_t o_end) {
  if (num_rows < kStreamRowsBelow)  // one output at a time (int_tile_rows.h)
    return run_tiles<T, 1, 2>(lw, qx, y, r_begin, num_rows, o_begin, o_end);
  run_tiles<T, 4, T::kGgmlRows>(lw, qx, y, r_begin, num_rows, o_begin, o_end);
}

}  // namespace fathom::kernels::cpu::ggml_int
