// The 12-bit packed bf16 copy against one x row on AVX2 (see linear_bf16_packed_avx2.h).
//
// A block's 64 sign | mantissa bytes are two ymm (values 0-31, 32-63), its 32 code bytes one
// ymm whose low nibbles are the codes of values 0-31 and high nibbles those of 32-63. Per
// block, two 16-byte tables indexed by code (vpshufb) give each value's bf16 exponent bits
// already in place: the high byte's exponent >> 1 and the low byte's exponent << 7, zero for
// code 0. A value's bf16 is then (sm & 0x80 | high[code]) << 8 | sm & 0x7f | low[code]; byte
// unpacks make the words and, per dword, a 16-bit shift (the even word) or a mask (the odd
// word) the fp32 values, in packed_avx2_lane order: x is permuted to match once per call.
// Escaped blocks (plain bf16, 0.3 % of Gaussian weights' blocks) are summed in scalar fp32.
#include "kernels/cpu/linear_bf16_packed_avx2.h"

#include <algorithm>
#include <cstdint>

#include "kernels/bf16_packed.h"
#include "kernels/cpu/bf16_packed_x.h"
#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kOutTile = 16;  // outputs per parallel_for index (as linear_bf16_packed)

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

// One half of a block: 32 sign | mantissa bytes `sm`, their codes, the block's tables.
inline void half_block(__m256 (&acc)[4], const Consts& k, __m256i sm, __m256i code,
                       __m256i high_table, __m256i low_table, const float* x) {
  const __m256i hi =
      _mm256_or_si256(_mm256_and_si256(sm, k.sign), _mm256_shuffle_epi8(high_table, code));
  const __m256i lo =
      _mm256_or_si256(_mm256_andnot_si256(k.sign, sm), _mm256_shuffle_epi8(low_table, code));
  const __m256i w0 = _mm256_unpacklo_epi8(lo, hi), w1 = _mm256_unpackhi_epi8(lo, hi);
  acc[0] =
      _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(w0, 16)), _mm256_loadu_ps(x), acc[0]);
  acc[1] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(w0, k.high_word)),
                           _mm256_loadu_ps(x + 8), acc[1]);
  acc[2] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(w1, 16)), _mm256_loadu_ps(x + 16),
                           acc[2]);
  acc[3] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(w1, k.high_word)),
                           _mm256_loadu_ps(x + 24), acc[3]);
}

// An escaped block's bf16 values (bf16_pack_lane order) against x as given.
float escape_dot(const uint16_t* v, const float* x) {
  static const Bf16PackLaneOrder kOrder = bf16_pack_lane_order(bf16_pack_lane);
  float s = 0;
  for (size_t q = 0; q < kOrder.size(); ++q) s += bf16_to_f32(v[q]) * x[kOrder[q]];
  return s;
}

// Outputs [o_begin, o_end): xp is x in packed_avx2_lane order, x as given (for escapes). The
// block loop skips escaped blocks (no call in it: the accumulators stay in registers); they are
// summed after it.
void packed_rows(const Bf16Packed& p, const float* xp, const float* x, float* y, int64_t o_begin,
                 int64_t o_end) {
  static const ExponentTables kTables;
  const Consts k;
  const int64_t blocks = p.blocks_per_row();
  for (int64_t o = o_begin; o < o_end; ++o) {
    const uint8_t* slot = p.slots + o * blocks * kBf16PackSlotBytes;
    const uint8_t* bias = p.bias.data() + o * blocks;
    const uint32_t e_begin = p.escape_begin[static_cast<size_t>(o)];
    const uint32_t e_end = p.escape_begin[static_cast<size_t>(o) + 1];
    uint32_t e = e_begin;
    int64_t next_escape = e < e_end ? p.escape_block[e] : blocks;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (int64_t b = 0; b < blocks; ++b, slot += kBf16PackSlotBytes) {
      if (b == next_escape) {
        ++e;
        next_escape = e < e_end ? p.escape_block[e] : blocks;
        continue;
      }
      const __m256i high_table = both_lanes(kTables.high[bias[b]]);
      const __m256i low_table = both_lanes(kTables.low[bias[b]]);
      const __m256i codes =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(slot + kBf16PackBlock));
      const float* xb = xp + b * kBf16PackBlock;
      half_block(acc, k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(slot)),
                 _mm256_and_si256(codes, k.nibble), high_table, low_table, xb);
      half_block(acc, k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(slot + 32)),
                 _mm256_and_si256(_mm256_srli_epi16(codes, 4), k.nibble), high_table, low_table,
                 xb + 32);
    }
    const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float sum = _mm_cvtss_f32(h);
    for (uint32_t j = e_begin; j < e_end; ++j)
      sum += escape_dot(p.escape_values.data() + size_t{j} * kBf16PackBlock,
                        x + int64_t{p.escape_block[j]} * kBf16PackBlock);
    y[o] = sum;
  }
}

}  // namespace

bool linear_bf16_packed_avx2(const LinearWeight& w, const float* x, float* y, ThreadPool& pool) {
  const Bf16Packed* packed = w.bf16_packed ? w.bf16_packed->get() : nullptr;
  if (packed == nullptr) return false;
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
