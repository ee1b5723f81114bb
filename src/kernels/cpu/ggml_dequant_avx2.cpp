// AVX2 instantiation of the GGML block dequantizers (ggml_dequant_simd.h): 8 lanes per ymm.
// Compiled with -ffp-contract=off (src/kernels/CMakeLists.txt): the values must equal
// kernels/ref's bit for bit.
#include <cstdint>

#include "kernels/cpu/linear_cpu_internal.h"
#include "tensor/ggml_type.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include "kernels/cpu/ggml_dequant_simd.h"  // after the pragma: compiled for AVX2

namespace fathom::kernels::cpu {
namespace {

struct Ymm {
  static constexpr int kLanes = 8;
  using VI = __m256i;
  using VF = __m256;
  static VI load_u8(const uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static VI load_i8(const uint8_t* p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static VI and_(VI a, VI b) { return _mm256_and_si256(a, b); }
  static VI or_(VI a, VI b) { return _mm256_or_si256(a, b); }
  static VI sub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
  template <int N>
  static VI srli(VI a) {
    return _mm256_srli_epi32(a, N);
  }
  template <int N>
  static VI slli(VI a) {
    return _mm256_slli_epi32(a, N);
  }
  static VI set1i(int v) { return _mm256_set1_epi32(v); }
  static VF to_f(VI a) { return _mm256_cvtepi32_ps(a); }
  static VF set1(float v) { return _mm256_set1_ps(v); }
  static VF mul(VF a, VF b) { return _mm256_mul_ps(a, b); }
  static VF fsub(VF a, VF b) { return _mm256_sub_ps(a, b); }
  static void store(float* p, VF v) { _mm256_storeu_ps(p, v); }
};

}  // namespace

bool ggml_dequantize_avx2(GgmlType t, const uint8_t* src, int64_t n, float* out) {
  return ggml_simd::dequantize<Ymm>(t, src, n, out);
}

}  // namespace fathom::kernels::cpu

#pragma GCC pop_options

#else  // not x86: never called (isa_available(kAvx2) is false)

namespace fathom::kernels::cpu {
bool ggml_dequantize_avx2(GgmlType, const uint8_t*, int64_t, float*) { return false; }
}  // namespace fathom::kernels::cpu

#endif
