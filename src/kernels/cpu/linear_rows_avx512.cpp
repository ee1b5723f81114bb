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

#include "kernels/cpu/linear_rows.h"  // after the pragma: compiled for AVX-512F

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
