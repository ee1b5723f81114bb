// AVX-VNNI (VEX vpdpbusd on ymm: Alder Lake, Zen 5) instantiation of the integer kernel
// (linear_int_dot.h); also the path of AVX-512 CPUs capped with FATHOM_CPU_ISA=avxvnni.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avxvnni,avx2,fma,f16c")

#include "kernels/cpu/linear_int_dot.h"  // after the pragma: compiled for AVX-VNNI
#include "kernels/cpu/linear_int_ggml.h"
#include "kernels/cpu/linear_int_ymm.h"

namespace fathom::kernels::cpu {
namespace {

struct VnniTag {};
struct YmmVnni : YmmOps<VnniTag> {
  static constexpr bool kQ8Offset = true;
  static VI dot_us(VI acc, VI u, VI s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
  static VI dot_q8(VI acc, VI x, VI w) { return _mm256_dpbusd_avx_epi32(acc, x, w); }
  static constexpr int kGgmlRows = 2;
  static VI scales(__m128i bytes, int a, int b) { return factors16(bytes, a, b); }
  static VI dot_us_scaled(VI acc, VI u, VI s, VI f) {  // as AVX2: vpmulld costs more than it saves
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), f));
  }
};

}  // namespace

void int_dot_avxvnni(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                     int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end) {
  if (w.format == WeightFormat::kGgml)
    return ggml_int::run<YmmVnni>(w, qx, y, r_begin, num_rows, o_begin, o_end);
  run_int_dot<YmmVnni>(w, qx, x, y, r_begin, num_rows, o_begin, o_end);
}

}  // namespace fathom::kernels::cpu

#pragma GCC pop_options

#else  // not x86: never selected

namespace fathom::kernels::cpu {
void int_dot_avxvnni(const LinearWeight&, const IntX&, const float*, float*, int64_t, int64_t,
                     int64_t, int64_t) {}
}  // namespace fathom::kernels::cpu

#endif
