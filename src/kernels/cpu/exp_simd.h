// exp of non-positive floats on 16 (AVX-512F) or 8 (AVX2+FMA) lanes, shared by the element-wise
// ops (SwiGLU) and attention's softmax. Each function carries its own target attribute, so the
// header can be included anywhere in an x86 build; call only where the CPU has the extension.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

namespace fathom::kernels::cpu {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

// exp(x) for x <= 0 (silu needs exp(-|g|) only, a softmax exp(s - max)): 2^k p(r) with x = k ln2 +
// r, |r| <= ln2 / 2 (ln2 in two parts), p the degree-6 Taylor polynomial (relative error under 2e-7
// there). Below -87.3 the result is exp(-87.3) instead of a subnormal: silu is then 0 up to 1e-36
// either way, and a softmax weight 1e-38 of the largest.
namespace exp_detail {
constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kTaylor[] = {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
}  // namespace exp_detail

__attribute__((target("avx512f"))) inline __m512 exp_neg(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(exp_detail::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(exp_detail::kLn2Hi), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(exp_detail::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(exp_detail::kTaylor[0]);
  for (int i = 1; i < 7; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_detail::kTaylor[i]));
  const __m512i two_k =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(two_k));
}

__attribute__((target("avx2,fma"))) inline __m256 exp_neg(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(exp_detail::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(exp_detail::kLn2Hi), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(exp_detail::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(exp_detail::kTaylor[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_detail::kTaylor[i]));
  const __m256i two_k =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(two_k));
}

#pragma GCC diagnostic pop

}  // namespace fathom::kernels::cpu

#endif
