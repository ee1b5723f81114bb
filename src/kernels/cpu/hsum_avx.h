// The sum of a ymm's eight floats, shared by the AVX2 float kernels (linear tiles, packed bf16,
// attention). Include it BEFORE a file's `#pragma GCC target` (a pragma's extensions would be
// added to the function's own "avx", and the linker keeps one copy of an inline function for
// every file). linear_int_ymm.h, included after its files' pragmas, keeps its own copy in the
// per-target YmmOps<Tag> for that reason.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace fathom::kernels::cpu {

__attribute__((target("avx"))) inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace fathom::kernels::cpu

#endif
