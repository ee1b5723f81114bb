// The 12-bit packed bf16 copy against one x row on AVX2 (see linear_bf16_packed_avx2.h).
//
// A block's 64 sign | mantissa bytes are two ymm (values 0-31, 32-63), its 32 code bytes one
// ymm whose low nibbles are the codes of values 0-31 and high nibbles those of 32-63. Per
// block, two 16-byte tables indexed by code (vpshufb) give each value's bf16 exponent bits
// already in place: the high byte's exponent >> 1 and the low byte's exponent << 7, zero for
// code 0. A value's bf16 is then (sm & 0x80 | high[code]) << 8 | sm & 0x7f | low[code]; byte
// unpacks make the words and, per dword, a 16-bit shift (the even word) or a mask (the odd
// word) the fp32 values, in packed_avx2_lane order: x is permuted to match once per call.
// Two outputs run in lockstep, each x vector loaded once for both, and each weight stream is
// prefetched kPrefetchBytes ahead. Escaped blocks (plain bf16, 0.3 % of Gaussian weights'
// blocks) have zero slots, which the loop multiplies as +0 weights; their values are summed
// in scalar fp32 after it.
#include "kernels/cpu/linear_bf16_packed_avx2.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/bf16_packed.h"
#include "kernels/cpu/bf16_packed_x.h"
#include "kernels/cpu/hsum_avx.h"
#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kOutTile = 16;  // outputs per parallel_for index (as linear_bf16_packed)
// How far ahead of each weight stream the loop prefetches. The decode's ~35 instructions per
// block leave the out-of-order window a few blocks deep, too shallow to keep the reads going:
// linear_bench --rows 1 --format bf16, 8960x1536, read 16-19 GB/s without, 28-29 with 3-4 KiB
// (2 KiB: 21-24); fathom bench model tg32 on the 1.5B shape 6.9-7.2 -> 9.7-10.7 tok/s.
constexpr int64_t kPrefetchBytes = 3072;

// Position q of the kernel's 64 fp32 lanes per block holds block value packed_avx2_lane(q):
// eight vectors (per half of the block: the even then odd words of unpacklo, then of unpackhi),
// each word t of an unpack holding value t / 8 * 16 + (0 or 8 for hi) + t % 8 of its half.
int packed_avx2_lane(int q) {
  const int vec = q / 8, half = vec / 4, unpack_hi = vec / 2 % 2, odd = vec % 2;
  const int t = 2 * (q % 8) + odd;
  return half * 32 + t / 8 * 16 + unpack_hi * 8 + t % 8;
}

// Per exponent bias, the two 16-entry tables indexed by code: the bf16 high byte's exponent
// bits (exponent >> 1) and the low byte's (exponent << 7), zero for code 0 (exponent 0).
struct ExponentTables {
  alignas(16) uint8_t high[256][16], low[256][16];
  ExponentTables() {
    for (int bias = 0; bias < 256; ++bias)
      for (int code = 0; code < 16; ++code) {
        const int ex = code == 0 ? 0 : (bias + code) & 0xff;
        high[bias][code] = static_cast<uint8_t>(ex >> 1);
        low[bias][code] = static_cast<uint8_t>((ex & 1) << 7);
      }
  }
};

const ExponentTables& exponent_tables() {
  static const ExponentTables kTables;
  return kTables;
}

// The loop's constants (a user-provided constructor: an implicit one would not be compiled for
// AVX2 under the pragma).
struct Consts {
  Consts() {}
  __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256i nibble = _mm256_set1_epi8(0x0f);
  __m256i high_word = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
};

inline __m256i both_lanes(const uint8_t* table) {
  return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(table)));
}

// A half block's 32 values as bf16 words: sign | mantissa bytes `sm`, their codes, the block's
// tables. w0 holds the values of unpacklo, w1 those of unpackhi (packed_avx2_lane).
struct HalfWords {
  __m256i w0, w1;
};

inline HalfWords half_words(const Consts& k, __m256i sm, __m256i code, __m256i high_table,
                            __m256i low_table) {
  const __m256i hi =
      _mm256_or_si256(_mm256_and_si256(sm, k.sign), _mm256_shuffle_epi8(high_table, code));
  const __m256i lo =
      _mm256_or_si256(_mm256_andnot_si256(k.sign, sm), _mm256_shuffle_epi8(low_table, code));
  return {_mm256_unpacklo_epi8(lo, hi), _mm256_unpackhi_epi8(lo, hi)};
}

// Vector v (0-3) of a half's fp32 values: the even then odd words of w0, then of w1.
inline __m256 half_f32(const Consts& k, const HalfWords& w, int v) {
  const __m256i words = v < 2 ? w.w0 : w.w1;
  return _mm256_castsi256_ps(v % 2 == 0 ? _mm256_slli_epi32(words, 16)
                                        : _mm256_and_si256(words, k.high_word));
}

// An escaped block's bf16 values (bf16_pack_lane order) against x as given.
float escape_dot(const uint16_t* v, const float* x) {
  static const Bf16PackLaneOrder kOrder = bf16_pack_lane_order(bf16_pack_lane);
  float s = 0;
  for (size_t q = 0; q < kOrder.size(); ++q) s += bf16_to_f32(v[q]) * x[kOrder[q]];
  return s;
}

// R outputs from o0 on, their blocks in lockstep so that each x vector is loaded once for all
// R (A accumulators per output). xp is x in packed_avx2_lane order, x as given. Escaped blocks'
// slots are zero, so the block loop runs them as +0 weights (exact for finite x, which the
// caller checks) and their plain bf16 values are summed after it.
template <int R>
void packed_tile(const Bf16Packed& p, const float* xp, const float* x, float* y, int64_t o0) {
  constexpr int A = 4 / R;
  const ExponentTables& tables = exponent_tables();
  const Consts k;
  const int64_t blocks = p.blocks_per_row();
  const uint8_t* slot[R];
  const uint8_t* bias[R];
  __m256 acc[R][A];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    slot[r] = p.slots + (o0 + r) * blocks * kBf16PackSlotBytes;
    bias[r] = p.bias.data() + (o0 + r) * blocks;
#pragma GCC unroll 4
    for (int a = 0; a < A; ++a) acc[r][a] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < blocks; ++b) {
    const float* xb = xp + b * kBf16PackBlock;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {  // the block's 1.5 lines, kPrefetchBytes on (past a row's end:
      // the next row's, contiguous; past the last: a prefetch never faults)
      const auto* ahead =
          reinterpret_cast<const char*>(slot[r] + b * kBf16PackSlotBytes + kPrefetchBytes);
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + 64, _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int half = 0; half < 2; ++half) {
      HalfWords w[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const uint8_t* s = slot[r] + b * kBf16PackSlotBytes;
        const __m256i codes =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + kBf16PackBlock));
        w[r] =
            half_words(k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32 * half)),
                       _mm256_and_si256(half == 0 ? codes : _mm256_srli_epi16(codes, 4), k.nibble),
                       both_lanes(tables.high[bias[r][b]]), both_lanes(tables.low[bias[r][b]]));
      }
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
        const __m256 xv = _mm256_loadu_ps(xb + 32 * half + 8 * v);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
          acc[r][v % A] = _mm256_fmadd_ps(half_f32(k, w[r], v), xv, acc[r][v % A]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    __m256 s = acc[r][0];
#pragma GCC unroll 4
    for (int a = 1; a < A; ++a) s = _mm256_add_ps(s, acc[r][a]);
    float sum = hsum8(s);
    const size_t o = static_cast<size_t>(o0 + r);
    for (uint32_t j = p.escape_begin[o]; j < p.escape_begin[o + 1]; ++j)
      sum += escape_dot(p.escape_values.data() + size_t{j} * kBf16PackBlock,
                        x + int64_t{p.escape_block[j]} * kBf16PackBlock);
    y[o] = sum;
  }
}

// Outputs [o_begin, o_end) in tiles of two.
void packed_rows(const Bf16Packed& p, const float* xp, const float* x, float* y, int64_t o_begin,
                 int64_t o_end) {
  int64_t o = o_begin;
  for (; o + 2 <= o_end; o += 2) packed_tile<2>(p, xp, x, y, o);
  if (o < o_end) packed_tile<1>(p, xp, x, y, o);
}

}  // namespace

bool linear_bf16_packed_avx2(const LinearWeight& w, const float* x, float* y, ThreadPool& pool) {
  const Bf16Packed* packed = w.bf16_packed ? w.bf16_packed->get() : nullptr;
  if (packed == nullptr) return false;
  // The block loop runs escaped blocks as +0 weights: 0 x inf would be NaN where the escaped
  // weight times inf is not. Non-finite x (rare) takes the kernels over the values as stored.
  for (int64_t j = 0; j < w.in_features; ++j)
    if (!std::isfinite(x[j])) return false;
  static const Bf16PackLaneOrder kOrder = bf16_pack_lane_order(packed_avx2_lane);
  const float* xp = bf16_pack_permuted(x, w.in_features, kOrder);
  const int64_t out = w.out_features;
  pool.parallel_for((out + kOutTile - 1) / kOutTile, [&](int64_t begin, int64_t end) {
    packed_rows(*packed, xp, x, y, begin * kOutTile, std::min(out, end * kOutTile));
  });
  return true;
}

}  // namespace fathom::kernels::cpu

#pragma GCC pop_options

#else  // not x86: never called (no AVX2)

namespace fathom::kernels::cpu {
bool linear_bf16_packed_avx2(const LinearWeight&, const float*, float*, ThreadPool&) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
