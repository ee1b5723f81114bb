// AVX-512 instantiation of the GGML block dequantizers (ggml_dequant_simd.h): 16 lanes per zmm.
// Compiled with -ffp-contract=off (src/kernels/CMakeLists.txt): the values must equal
// kernels/ref's bit for bit.
#include <cstdint>

#include "kernels/cpu/linear_cpu_internal.h"
#include "tensor/ggml_type.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

#include "kernels/cpu/ggml_dequant_simd.h"  // after the pragma: compiled for AVX-512

namespace fathom::kernels::cpu {
namespace {

struct Zmm {
  static constexpr int kLanes = 16;
  using VI = __m512i;
  using VF = __m512;
  static VI load_u8(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static VI load_i8(const uint8_t* p) {
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static VI and_(VI a, VI b) { return _mm512_and_si512(a, b); }
  static VI or_(VI a, VI b) { return _mm512_or_si512(a, b); }
  static VI sub(VI a, VI b) { return _mm512_sub_epi32(a, b); }
  template <int N>
  static VI srli(VI a) {
    return _mm512_srli_epi32(a, N);
  }
  template <int N>
  static VI slli(VI a) {
    return _mm512_slli_epi32(a, N);
  }
  static VI set1i(int v) { return _mm512_set1_epi32(v); }
  static VF to_f(VI a) { return _mm512_cvtepi32_ps(a); }
  static VF set1(float v) { return _mm512_set1_ps(v); }
  static VF mul(VF a, VF b) { return _mm512_mul_ps(a, b); }
  static VF fsub(VF a, VF b) { return _mm512_sub_ps(a, b); }
  static void store(float* p, VF v) { _mm512_storeu_ps(p, v); }
};

}  // namespace

bool ggml_dequantize_avx512(GgmlType t, const uint8_t* src, int64_t n, float* out) {
  return ggml_simd::dequantize<Zmm>(t, src, n, out);
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never called (isa_available(kAvx512) is false)

namespace fathom::kernels::cpu {
bool ggml_dequantize_avx512(GgmlType, const uint8_t*, int64_t, float*) { return false; }
}  // namespace fathom::kernels::cpu

#endif
