// AVX-512F instantiation of the few-rows linear kernel (linear_rows.h): 4 outputs x 4 rows
// register tiles (16 zmm accumulators). Decoders (16 stored weights at column j -> __m512, the
// values of decode_row_scalar up to the order of one multiply):
//   f32: load          bf16: widen u16 -> u32, shift left 16          f16: vcvtph2ps
//   int8: sign-extend, convert, times the channel scale
//   int4: 8 bytes -> 16 nibbles in input order, minus the group's zero, convert, times its scale
//   fp8 e4m3: the byte re-packed as an f16 bit pattern (value / 256), vcvtph2ps, times the
//             block scale * 256 (the trick of linear_cpu_avx2.cpp; exact, NaN kept)
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

#include "kernels/cpu/ggml_dequant_simd.h"  // after the pragma, as linear_rows.h
#include "kernels/cpu/linear_rows.h"        // after the pragma: compiled for AVX-512F

namespace fathom::kernels::cpu {
namespace {

inline __m512 widen_bf16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

struct Avx512Rows {
  using Reg = __m512;
  static constexpr int kWidth = 16, kMo = 4, kMr = 4;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce(Reg v) { return _mm512_reduce_add_ps(v); }

  struct F32Row {
    const float* p;
    static F32Row make(const LinearWeight& w, int64_t o) {
      return {static_cast<const float*>(w.values) + o * w.in_features};
    }
    void set_block(int64_t) {}
    Reg load(int64_t j) const { return _mm512_loadu_ps(p + j); }
  };

  struct Bf16Row {
    const uint16_t* p;
    static Bf16Row make(const LinearWeight& w, int64_t o) {
      return {static_cast<const uint16_t*>(w.values) + o * w.in_features};
    }
    void set_block(int64_t) {}
    Reg load(int64_t j) const {
      return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j)));
    }
  };

  struct F16Row {
    const uint16_t* p;
    static F16Row make(const LinearWeight& w, int64_t o) {
      return {static_cast<const uint16_t*>(w.values) + o * w.in_features};
    }
    void set_block(int64_t) {}
    Reg load(int64_t j) const {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j)));
    }
  };

  struct I8Row {
    const int8_t* p;
    Reg scale;
    static I8Row make(const LinearWeight& w, int64_t o) {
      return {w.q8 + o * w.in_features, _mm512_set1_ps(w.channel_scale[o])};
    }
    void set_block(int64_t) {}
    Reg load(int64_t j) const {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
      return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), scale);
    }
  };

  struct Int4Row {
    const uint8_t* p;      // (in + 1) / 2 bytes, input 2k in the low nibble of byte k
    const float* scales;   // [num_groups]
    const uint8_t* zeros;  // [num_groups]
    Reg scale;
    __m512i zero;
    static Int4Row make(const LinearWeight& w, int64_t o) {
      return {w.q4 + o * ((w.in_features + 1) / 2), w.group_scale + o * w.num_groups,
              w.group_zero + o * w.num_groups, _mm512_setzero_ps(), _mm512_setzero_si512()};
    }
    void set_block(int64_t g) {
      scale = _mm512_set1_ps(scales[g]);
      zero = _mm512_set1_epi32(zeros[g]);
    }
    Reg load(int64_t j) const {  // PRECOND: j % 16 == 0
      const __m128i b =
          _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + j / 2)));
      const __m128i lo = _mm_and_si128(b, _mm_set1_epi16(0x0f));
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi16(0x0f));
      const __m128i nibbles = _mm_or_si128(lo, _mm_slli_epi16(hi, 8));  // lo0 hi0 lo1 hi1 ...
      const __m512i q = _mm512_sub_epi32(_mm512_cvtepu8_epi32(nibbles), zero);
      return _mm512_mul_ps(_mm512_cvtepi32_ps(q), scale);
    }
  };

  struct Fp8Row {
    const uint8_t* p;
    const float* scales;  // this row's block-row of block_scale_inv: [ceil(in / block_in)]
    Reg scale;
    static Fp8Row make(const LinearWeight& w, int64_t o) {
      const int64_t in = w.in_features, nbi = (in + w.block_in - 1) / w.block_in;
      return {static_cast<const uint8_t*>(w.values) + o * in,
              w.block_scale_inv + (o / w.block_out) * nbi, _mm512_setzero_ps()};
    }
    void set_block(int64_t b) { scale = _mm512_set1_ps(scales[b] * 256.0f); }
    Reg load(int64_t j) const {
      // e4m3 s.eeee.mmm -> f16 s.0eeee.mmm0000000 (value / 256); S.1111.111 (NaN) -> f16 NaN.
      const __m256i v =
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j)));
      const __m256i h = _mm256_and_si256(_mm256_srai_epi16(_mm256_slli_epi16(v, 8), 1),
                                         _mm256_set1_epi16(static_cast<int16_t>(0xBFFF)));
      const __m256i nan =
          _mm256_cmpeq_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x7F)), _mm256_set1_epi16(0x7F));
      const __m256i f16 = _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(0x7C00)));
      return _mm512_mul_ps(_mm512_cvtph_ps(f16), scale);
    }
  };

  // GGML blocks (kernels/ggml_blocks.h): set_block(b) finds block b of the row (rows_block_size:
  // 32 elements, or a Q6_K sub-block of 16) and its scales; load(j) decodes 16 of its elements
  // with ggml_dequant_simd.h's arithmetic (a product, then a difference for Q4_K).
  struct GgmlRow {
    const uint8_t* row;
    static const uint8_t* row_of(const LinearWeight& w, int64_t o) {
      return static_cast<const uint8_t*>(w.values) + o * ggml_row_bytes(w.ggml_type, w.in_features);
    }
    static __m512i bytes16(const uint8_t* p) {
      return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
  };

  struct GgmlQ8_0Row : GgmlRow {  // {f16 d; i8 qs[32]}
    const uint8_t* blk;
    Reg d;
    static GgmlQ8_0Row make(const LinearWeight& w, int64_t o) {
      return {{row_of(w, o)}, nullptr, _mm512_setzero_ps()};
    }
    void set_block(int64_t b) {
      blk = row + b * 34;
      d = _mm512_set1_ps(ggml_simd::half_at(blk));
    }
    Reg load(int64_t j) const {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2 + (j & 31)));
      return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
    }
  };

  struct GgmlQ4_0Row : GgmlRow {  // {f16 d; u8 qs[16]}: low nibbles first, minus 8
    const uint8_t* blk;
    Reg d;
    static GgmlQ4_0Row make(const LinearWeight& w, int64_t o) {
      return {{row_of(w, o)}, nullptr, _mm512_setzero_ps()};
    }
    void set_block(int64_t b) {
      blk = row + b * 18;
      d = _mm512_set1_ps(ggml_simd::half_at(blk));
    }
    Reg load(int64_t j) const {
      const __m512i v = bytes16(blk + 2);
      const __m512i q =
          (j & 31) ? _mm512_srli_epi32(v, 4) : _mm512_and_si512(v, _mm512_set1_epi32(0xF));
      return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(8))), d);
    }
  };

  struct GgmlQ4_KRow : GgmlRow {  // 144-byte super-blocks of 8 sub-blocks of 32
    const uint8_t* q;             // this sub-block's 32 bytes
    bool high;                    // odd sub-blocks are the high nibbles
    Reg d1, m1;
    static GgmlQ4_KRow make(const LinearWeight& w, int64_t o) {
      return {{row_of(w, o)}, nullptr, false, _mm512_setzero_ps(), _mm512_setzero_ps()};
    }
    void set_block(int64_t b) {
      const uint8_t* sb = row + (b / 8) * 144;
      const int sub = static_cast<int>(b % 8);
      int sc, m;
      ggml_simd::scale_min_k4(sub, sb + 4, sc, m);
      d1 = _mm512_set1_ps(ggml_simd::half_at(sb) * static_cast<float>(sc));
      m1 = _mm512_set1_ps(ggml_simd::half_at(sb + 2) * static_cast<float>(m));
      q = sb + 16 + (sub / 2) * 32;
      high = sub & 1;
    }
    Reg load(int64_t j) const {
      const __m512i v = bytes16(q + (j & 16));
      const __m512i c =
          high ? _mm512_srli_epi32(v, 4) : _mm512_and_si512(v, _mm512_set1_epi32(0xF));
      return _mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(c)), m1);
    }
  };

  struct GgmlQ6_KRow : GgmlRow {  // 210-byte super-blocks; one 16-element sub-block per block
    const uint8_t* ql;
    const uint8_t* qh;
    __m128i low_shift, high_shift;
    Reg scale;
    static GgmlQ6_KRow make(const LinearWeight& w, int64_t o) {
      return {{row_of(w, o)},     nullptr, nullptr, _mm_setzero_si128(), _mm_setzero_si128(),
              _mm512_setzero_ps()};
    }
    void set_block(int64_t b) {
      const uint8_t* sb = row + (b / 16) * 210;
      const int e = static_cast<int>(b % 16) * 16, half = e / 128, quarter = e % 128 / 32,
                l = e % 32;
      ql = sb + half * 64 + (quarter & 1) * 32 + l;
      qh = sb + 128 + half * 32 + l;
      low_shift = _mm_cvtsi32_si128(quarter >= 2 ? 4 : 0);
      high_shift = _mm_cvtsi32_si128(2 * quarter);
      const auto* sc = reinterpret_cast<const int8_t*>(sb + 192);
      scale = _mm512_set1_ps(ggml_simd::half_at(sb + 208) *
                             static_cast<float>(sc[half * 8 + l / 16 + 2 * quarter]));
    }
    Reg load(int64_t) const {
      const __m512i three = _mm512_set1_epi32(3), m4 = _mm512_set1_epi32(0xF);
      const __m512i lo = _mm512_and_si512(_mm512_srl_epi32(bytes16(ql), low_shift), m4);
      const __m512i hi = _mm512_and_si512(_mm512_srl_epi32(bytes16(qh), high_shift), three);
      const __m512i c =
          _mm512_sub_epi32(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4)), _mm512_set1_epi32(32));
      return _mm512_mul_ps(scale, _mm512_cvtepi32_ps(c));
    }
  };
};

}  // namespace

bool rows_avx512_supports(const LinearWeight& w) { return rows_layout_supported<Avx512Rows>(w); }

void linear_rows_avx512(const LinearWeight& w, const LinearTile& t) {
  run_linear_rows<Avx512Rows>(w, t);
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx512) is false)

namespace fathom::kernels::cpu {
bool rows_avx512_supports(const LinearWeight&) { return false; }
void linear_rows_avx512(const LinearWeight& w, const LinearTile& t) { linear_tile_scalar(w, t); }
}  // namespace fathom::kernels::cpu

#endif
