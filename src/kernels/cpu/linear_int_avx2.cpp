// Plain AVX2 instantiation of the integer kernel (linear_int_dot.h): vpmaddubsw (u8 x s8 pairs
// summed to int16) then vpmaddwd by ones to int32. Exact while a pair stays within int16: int4
// codes (<= 15) against any x digit, and int8 weights by llama.cpp's sign trick
// |w| . sign(x, w) for reduced x (|x| <= 127, so 2 * 128 * 127 < 2^15); the exact limbs of int8
// weights (digits down to -128) stay on the float kernels (int_dot_supported).
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_int_x.h"
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
  static VI dot_us(VI acc, VI u, VI s) {
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  static VI dot_q8(VI acc, VI x, VI w) {
    return dot_us(acc, _mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
  }
  static constexpr int kGgmlRows = 2;
  static VI scales(__m128i bytes, int a, int b) { return factors16(bytes, a, b); }
  static VI dot_us_scaled(VI acc, VI u, VI s, VI f) {  // pairs <= 2 * 63 * 127: an int16
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), f));
  }
};

}  // namespace

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
void int_dot_avx2(const LinearWeight&, const IntX&, const float*, float*, int64_t, int64_t, int64_t,
                  int64_t) {}
}  // namespace fathom::kernels::cpu

#endif
