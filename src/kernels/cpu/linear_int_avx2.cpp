// Plain AVX2 instantiation of the integer kernel (linear_int_dot.h): vpmaddubsw (u8 x s8 pairs
// summed to int16) then vpmaddwd by ones to int32. Exact while a pair stays within int16: int4
// codes (<= 15) against any x digit, and int8 weights by llama.cpp's sign trick
// |w| . sign(x, w) for reduced x (|x| <= 127, so 2 * 128 * 127 < 2^15); the exact limbs of int8
// weights (digits down to -128) stay on the float kernels (int_dot_supported).
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
#pragma GCC target("avx2,fma,f16c")

#include "kernels/cpu/linear_int_dot.h"  // after the pragma: compiled for AVX2
#include "kernels/cpu/linear_int_ggml.h"
#include "kernels/cpu/linear_int_ymm.h"

namespace fathom::kernels::cpu {
namespace {

struct Avx2Tag {};
struct YmmAvx2 : YmmOps<Avx2Tag> {
  static constexpr bool kQ8Offset = false;
  static VI dot_us(VI acc, VI u, VI s) { return widen_pairs16(acc, _mm256_maddubs_epi16(u, s)); }
  static VI dot_q8(VI acc, VI x, VI w) {
    return dot_us(acc, _mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
  }
  // dot_us in two halves: vpmaddubsw's int16 pair sums added up in int16 over a few steps
  // (the caller bounds them, kPairSteps), then widened by one vpmaddwd: two instructions a
  // step where dot_us takes three.
  static constexpr bool kPairSums16 = true;
  static VI add_pairs16(VI pairs, VI u, VI s) {
    return _mm256_add_epi16(pairs, _mm256_maddubs_epi16(u, s));
  }
  static VI widen_pairs16(VI acc, VI pairs) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
  static constexpr int kGgmlRows = 2;
  static VI scales(__m128i bytes, int a, int b) { return factors16(bytes, a, b); }
  static VI dot_us_scaled(VI acc, VI u, VI s, VI f) {  // pairs <= 2 * 63 * 127: an int16
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), f));
  }
};

// Codes of 8 consecutive columns (x[0, 8) times inv in double, rounded by vcvtpd2dq: ties to
// even, as lrint in quantize_activation_block) as two vectors of 4 int32.
void round_codes8(const float* x, __m256d inv, __m128i* lo, __m128i* hi) {
  *lo = _mm256_cvtpd_epi32(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x)), inv));
  *hi = _mm256_cvtpd_epi32(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + 4)), inv));
}

// 16 int32 codes (4 vectors, in order) as bytes, each ^ bias, at p.
void store_codes16(int8_t* p, const __m128i (&c)[4], __m128i bias) {
  const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(c[0], c[1]), _mm_packs_epi32(c[2], c[3]));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm_xor_si128(bytes, bias));
}

// The even (kOdd false) or odd lanes of a and b, in order: a0 a2 b0 b2 or a1 a3 b1 b3.
template <bool kOdd>
__m128i lanes(__m128i a, __m128i b) {
  constexpr int kSel = kOdd ? _MM_SHUFFLE(3, 1, 3, 1) : _MM_SHUFFLE(2, 0, 2, 0);
  return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), kSel));
}

// The codes of columns [j, j + 32) (c[i]: columns j + 4i .. j + 4i + 3) stored in quantize_x's
// layout: in column order (chunk 0), or in their chunk's even columns then its odd ones.
void store_codes32(int8_t* codes, int64_t j, int64_t chunk, const __m128i (&c)[8], __m128i bias) {
  if (chunk == 0) {
    store_codes16(codes + j, {c[0], c[1], c[2], c[3]}, bias);
    store_codes16(codes + j + 16, {c[4], c[5], c[6], c[7]}, bias);
    return;
  }
  int8_t* at = codes + j - j % chunk + j % chunk / 2;
  store_codes16(at,
                {lanes<false>(c[0], c[1]), lanes<false>(c[2], c[3]), lanes<false>(c[4], c[5]),
                 lanes<false>(c[6], c[7])},
                bias);
  store_codes16(at + chunk / 2,
                {lanes<true>(c[0], c[1]), lanes<true>(c[2], c[3]), lanes<true>(c[4], c[5]),
                 lanes<true>(c[6], c[7])},
                bias);
}

// The least significant balanced base-256 digit of each code, ((c + 128) & 255) - 128, taken
// off c: c becomes (c - digit) / 256 (exact, so an arithmetic shift).
__m128i take_digit(__m128i& c) {
  const __m128i k128 = _mm_set1_epi32(128);
  const __m128i d = _mm_sub_epi32(_mm_and_si128(_mm_add_epi32(c, k128), _mm_set1_epi32(255)), k128);
  c = _mm_srai_epi32(_mm_sub_epi32(c, d), 8);
  return d;
}

}  // namespace

bool quantize_row_avx2(const float* x, int64_t span, int64_t block, int64_t chunk, int8_t bias,
                       ActivationPrecision act, int8_t* codes, float* scale, float* code_sum) {
  const bool exact = act == ActivationPrecision::kExact;
  const double max_code = exact ? kExactMaxCode : kReducedMaxCode;
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m128i flip = _mm_set1_epi8(bias);
  for (int64_t j0 = 0, b = 0; j0 < span; j0 += block, ++b) {
    const int64_t j1 = std::min(j0 + block, span);
    __m256 amax = _mm256_setzero_ps();
    for (int64_t j = j0; j < j1; j += 8) {
      const __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j));
      if (_mm256_movemask_ps(_mm256_cmp_ps(a, inf, _CMP_LT_OQ)) != 0xff) return false;
      amax = _mm256_max_ps(amax, a);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float m = _mm_cvtss_f32(_mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1)));
    scale[b] = static_cast<float>(m / max_code);
    const __m256d inv = _mm256_set1_pd(m > 0.0f ? max_code / double{m} : 0.0);
    __m128i sum = _mm_setzero_si128();  // two int64 lanes: exact codes' sums outgrow an int32
    for (int64_t j = j0; j < j1; j += 32) {
      __m128i c[8];  // columns j + 4i .. j + 4i + 3
      for (int i = 0; i < 4; ++i) round_codes8(x + j + 8 * i, inv, &c[2 * i], &c[2 * i + 1]);
      __m128i s = c[0];  // |32 codes| < 2^28
      for (int i = 1; i < 8; ++i) s = _mm_add_epi32(s, c[i]);
      sum = _mm_add_epi64(
          sum, _mm_add_epi64(_mm_cvtepi32_epi64(s), _mm_cvtepi32_epi64(_mm_unpackhi_epi64(s, s))));
      if (!exact) {
        store_codes32(codes, j, chunk, c, flip);
        continue;
      }
      for (int limb = 2; limb >= 0; --limb) {  // least significant digit first
        __m128i d[8];
        for (int i = 0; i < 8; ++i) d[i] = take_digit(c[i]);
        store_codes32(codes + limb * span, j, chunk, d, flip);
      }
    }
    const int64_t total = _mm_cvtsi128_si64(_mm_add_epi64(sum, _mm_unpackhi_epi64(sum, sum)));
    code_sum[b] = static_cast<float>(double{scale[b]} * static_cast<double>(total));
  }
  return true;
}

void int_dot_avx2(const LinearWeight& w, const IntX& qx, const float* x, float* y, int64_t r_begin,
                  int64_t num_rows, int64_t o_begin, int64_t o_end) {
  if (w.format == WeightFormat::kGgml)
    return ggml_int::run<YmmAvx2>(w, qx, y, r_begin, num_rows, o_begin, o_end);
  run_int_dot<YmmAvx2>(w, qx, x, y, r_begin, num_rows, o_begin, o_end);
}

}  // namespace fathom::kernels::cpu

#pragma GCC pop_options

#else  // not x86: never selected

namespace fathom::kernels::cpu {
bool quantize_row_avx2(const float*, int64_t, int64_t, int64_t, int8_t, ActivationPrecision,
                       int8_t*, float*, float*) {
  return false;
}
void int_dot_avx2(const LinearWeight&, const IntX&, const float*, float*, int64_t, int64_t, int64_t,
                  int64_t) {}
}  // namespace fathom::kernels::cpu

#endif
