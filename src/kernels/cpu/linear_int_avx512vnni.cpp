// AVX-512 VNNI instantiation of the integer kernel (linear_int_dot.h): 64 int8 lanes per zmm,
// vpdpbusd. A block ending 32 columns into a zmm takes one half step (upper lanes zero).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

#include "kernels/cpu/linear_int_dot.h"  // after the pragma: compiled for AVX-512 VNNI
#include "kernels/cpu/linear_int_ggml.h"
#include "kernels/cpu/linear_int_ymm.h"
#include "kernels/cpu/vpdpbusd.h"

namespace fathom::kernels::cpu {
namespace {

struct Zmm {
  using VI = __m512i;
  using VF = __m512;
  static constexpr int64_t kBytes = 64;
  static constexpr bool kQ8Offset = true;
  static constexpr bool kPairSums16 = false;
  static VI zero() { return _mm512_setzero_si512(); }
  static VF set1(float v) { return _mm512_set1_ps(v); }
  static VF to_f(VI v) { return _mm512_cvtepi32_ps(v); }
  static VF fmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce(VF v) { return _mm512_reduce_add_ps(v); }
  static VI sub(VI a, VI b) { return _mm512_sub_epi32(a, b); }
  static VI offset_bytes() { return _mm512_set1_epi8(static_cast<char>(0x80)); }
  static VI dot_us(VI acc, VI u, VI s) { return dpbusd(acc, u, s); }  // inline asm
  static VI dot_q8(VI acc, VI x, VI w) { return dot_us(acc, x, w); }
  template <bool kHalf>
  static VI load(const int8_t* p) {
    if constexpr (kHalf)
      return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    else
      return _mm512_loadu_si512(p);
  }
  // 32 bytes (two chunks c0, c1) -> 128-bit lanes [lo(c0), hi(c0), lo(c1), hi(c1)].
  template <bool kHalf>
  static VI load_q4(const uint8_t* p) {
    const __m512i mask = _mm512_set1_epi8(0x0f);
    if constexpr (kHalf) {
      const __m512i b =
          _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      const __m512i s = _mm512_srlv_epi64(b, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4));
      return _mm512_maskz_and_epi64(0x0f, s, mask);
    } else {
      const __m512i b = _mm512_permutexvar_epi64(
          _mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3),
          _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
      return _mm512_and_si512(_mm512_srlv_epi64(b, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)),
                              mask);
    }
  }
};

// One x row, one limb, int4 weights, x in kWideQ4Chunk chunks (linear_int_x.h): 64 bytes of
// codes are a chunk's 64 even columns (low nibbles) and 64 odd ones (high nibbles), so a chunk
// is one load, two masks and two vpdpbusd where the 32-column order needs a cross-lane permute
// per 32 bytes. Each thread reads its outputs' rows as one prefetched stream (int_tile_rows.h).
void int4_one_wide(const LinearWeight& w, const IntX& qx, const float* x, float* y, int64_t r,
                   int64_t o_begin, int64_t o_end) {
  const int64_t in = w.in_features, nb = qx.num_blocks, chunks = qx.block / kWideQ4Chunk;
  const int64_t span_chunks = qx.span / kWideQ4Chunk;  // the last block may be shorter
  const int8_t* xr = qx.limb(r, 0);
  const float* xs = qx.scale.data() + r * nb;
  const float* cs = qx.code_sum.data() + r * nb;
  const __m512i low = _mm512_set1_epi8(0x0f);
  for (int64_t o = o_begin; o < o_end; ++o) {
    const uint8_t* q4 = w.q4 + o * ((in + 1) / 2);
    const float* ws = w.group_scale + o * w.num_groups;
    const uint8_t* zero = w.group_zero + o * w.num_groups;
    __m512 tot = _mm512_setzero_ps();
    float corr = 0.0f;
    for (int64_t b = 0; b < nb; ++b) {
      __m512i acc = _mm512_setzero_si512();
      for (int64_t c = b * chunks; c < std::min((b + 1) * chunks, span_chunks); ++c) {
        const __m512i codes = _mm512_loadu_si512(q4 + c * (kWideQ4Chunk / 2));
        stream_prefetch(q4 + c * (kWideQ4Chunk / 2));
        const int8_t* xc = xr + c * kWideQ4Chunk;
        acc = Zmm::dot_us(acc, _mm512_and_si512(codes, low), _mm512_loadu_si512(xc));
        acc = Zmm::dot_us(acc, _mm512_and_si512(_mm512_srli_epi16(codes, 4), low),
                          _mm512_loadu_si512(xc + 64));
      }
      tot = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(ws[b] * xs[b]), tot);
      corr += ws[b] * static_cast<float>(zero[b]) * cs[b];
    }
    float s = _mm512_reduce_add_ps(tot) - corr;
    const float* xrow = x + r * in;
    for (int64_t j = qx.span; j < in; ++j) s += xrow[j] * detail::weight_element(w, o, j);
    y[r * w.out_features + o] = s;
  }
}

// 16 int32 codes as bytes, each ^ bias, at p.
void store_codes(int8_t* p, __m512i codes, __m128i bias) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm_xor_si128(_mm512_cvtepi32_epi8(codes), bias));
}

// 8 floats times inv in double, rounded to the nearest integer, ties to even: lrint's result
// (the rounding mode is the default one) on x * inv as quantize_activation_block computes it.
__m256i round_codes(__m256 x, __m512d inv) {
  return _mm512_cvtpd_epi32(_mm512_mul_pd(_mm512_cvtps_pd(x), inv));
}

}  // namespace

bool quantize_row_reduced_avx512(const float* x, int64_t span, int64_t block, int64_t chunk,
                                 int8_t bias, int8_t* codes, float* scale, float* code_sum) {
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  const __m512i evens =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const __m128i flip = _mm_set1_epi8(bias);
  for (int64_t j0 = 0, b = 0; j0 < span; j0 += block, ++b) {
    const int64_t j1 = std::min(j0 + block, span);
    __m512 amax = _mm512_setzero_ps();
    for (int64_t j = j0; j < j1; j += 16) {
      const __m512 a = _mm512_abs_ps(_mm512_loadu_ps(x + j));
      if (_mm512_cmp_ps_mask(a, inf, _CMP_LT_OQ) != 0xffff) return false;  // NaN or infinity
      amax = _mm512_max_ps(amax, a);
    }
    const float m = _mm512_reduce_max_ps(amax);
    scale[b] = static_cast<float>(m / double{kReducedMaxCode});
    const __m512d inv = _mm512_set1_pd(m > 0.0f ? kReducedMaxCode / double{m} : 0.0);
    __m512i sum = _mm512_setzero_si512();
    for (int64_t j = j0; j < j1; j += 32) {
      __m512i c[2];
      for (int h = 0; h < 2; ++h) {
        const __m512 v = _mm512_loadu_ps(x + j + 16 * h);
        const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
        c[h] =
            _mm512_inserti64x4(_mm512_castsi256_si512(round_codes(_mm512_castps512_ps256(v), inv)),
                               round_codes(hi, inv), 1);
        sum = _mm512_add_epi32(sum, c[h]);
      }
      if (chunk == 0) {
        store_codes(codes + j, c[0], flip);
        store_codes(codes + j + 16, c[1], flip);
        continue;
      }
      // A chunk's even columns, then its odd ones (linear_int_x.h): these 32 columns are the
      // chunk's (j % chunk / 32)-th 32, their 16 evens and 16 odds at that place in each half.
      int8_t* at = codes + j - j % chunk + j % chunk / 2;
      store_codes(at, _mm512_permutex2var_epi32(c[0], evens, c[1]), flip);
      store_codes(at + chunk / 2, _mm512_permutex2var_epi32(c[0], odds, c[1]), flip);
    }
    // |sum| <= 127 x block, well inside int32 (block <= 65536: int_dot_applies)
    code_sum[b] = static_cast<float>(double{scale[b]} * _mm512_reduce_add_epi32(sum));
  }
  return true;
}

namespace {

// GGML blocks (linear_int_ggml.h) stay 32 columns wide: their blocks and sub-blocks are.
struct Avx512Tag {};
struct YmmEvex : YmmOps<Avx512Tag> {
  static constexpr int kGgmlRows = 4;
  static VI dot_us(VI acc, VI u, VI s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static VI scales(__m128i bytes, int a, int b) { return factors16(bytes, a, b); }
  static VI dot_us_scaled(VI acc, VI u, VI s, VI f) {  // as AVX2: vpmulld costs more than it saves
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), f));
  }
};

}  // namespace

void int_dot_avx512vnni(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                        int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end) {
  if (w.format == WeightFormat::kGgml)
    return ggml_int::run<YmmEvex>(w, qx, y, r_begin, num_rows, o_begin, o_end);
  if (qx.q4_chunk == kWideQ4Chunk) return int4_one_wide(w, qx, x, y, r_begin, o_begin, o_end);
  run_int_dot<Zmm>(w, qx, x, y, r_begin, num_rows, o_begin, o_end);
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx512Vnni) is false)

namespace fathom::kernels::cpu {
void int_dot_avx512vnni(const LinearWeight&, const IntX&, const float*, float*, int64_t, int64_t,
                        int64_t, int64_t) {}
bool quantize_row_reduced_avx512(const float*, int64_t, int64_t, int64_t, int8_t, int8_t*, float*,
                                 float*) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
