#include "kernels/cpu/elementwise_cpu.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/exp_simd.h"
#include "kernels/ops.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fathom::kernels::cpu {
namespace {

// Work per task: small enough to split a decode step's 8960 values, large enough that a task
// outlasts the pool's hand-off.
constexpr int64_t kChunk = 4096;

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

// silu(x) = x sigmoid(x), sigmoid from e = exp(-|x|): 1 / (1 + e) for x >= 0 and e / (1 + e)
// below, so the exponential never overflows.
__attribute__((target("avx512f"))) void silu_mul_avx512(const float* g, const float* u, int64_t n,
                                                        float* out) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(m, g + i);
    const __m512 e = exp_neg(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
    const __m512 inv = _mm512_div_ps(one, _mm512_add_ps(one, e));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 sig = _mm512_mask_mul_ps(inv, neg, inv, e);
    _mm512_mask_storeu_ps(out + i, m,
                          _mm512_mul_ps(_mm512_mul_ps(x, sig), _mm512_maskz_loadu_ps(m, u + i)));
  }
}

__attribute__((target("avx2,fma"))) void silu_mul_avx2(const float* g, const float* u, int64_t n,
                                                       float* out) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(g + i);
    const __m256 e = exp_neg(_mm256_or_ps(x, sign));  // exp(-|x|)
    const __m256 inv = _mm256_div_ps(one, _mm256_add_ps(one, e));
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 sig = _mm256_blendv_ps(inv, _mm256_mul_ps(inv, e), neg);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(x, sig), _mm256_loadu_ps(u + i)));
  }
  if (i < n) kernels::silu_mul(g + i, u + i, n - i, out + i);
}

// One row of rms_norm as kernels::rms_norm computes it: the sum of squares in double, then
// x * inv * w in float.
__attribute__((target("avx512f"))) void rms_norm_row_avx512(const float* x, const float* w,
                                                            int64_t dim, float eps, float* y) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t i = 0; i < dim; i += 16) {
    const __mmask16 m = dim - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (dim - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xEE)));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  alignas(64) double lanes[8];  // not _mm512_reduce_add_pd: GCC 12 warns inside it
  _mm512_store_pd(lanes, _mm512_add_pd(s0, s1));
  const double ss = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
                    ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
  const __m512 inv =
      _mm512_set1_ps(1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps));
  for (int64_t i = 0; i < dim; i += 16) {
    const __mmask16 m = dim - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (dim - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv),
                                        _mm512_maskz_loadu_ps(m, w + i)));
  }
}

__attribute__((target("avx2,fma"))) void rms_norm_row_avx2(const float* x, const float* w,
                                                           int64_t dim, float eps, float* y) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double ss = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (int64_t j = i; j < dim; ++j) ss += static_cast<double>(x[j]) * x[j];
  const float inv_f = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps);
  const __m256 inv = _mm256_set1_ps(inv_f);
  for (i = 0; i + 8 <= dim; i += 8)
    _mm256_storeu_ps(
        y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv), _mm256_loadu_ps(w + i)));
  for (; i < dim; ++i) y[i] = x[i] * inv_f * w[i];
}

#pragma GCC diagnostic pop
#endif

void rms_norm_row_ref(const float* x, const float* w, int64_t dim, float eps, float* y) {
  kernels::rms_norm(x, w, 1, dim, eps, y);
}

// Each op's variant for `isa`: AVX-512F, AVX2+FMA, or the reference loop.
struct Variants {
  void (*silu_mul)(const float*, const float*, int64_t, float*) = &kernels::silu_mul;
  void (*rms_norm_row)(const float*, const float*, int64_t, float, float*) = &rms_norm_row_ref;
};

Variants variants(Isa isa) {
#if defined(__x86_64__)
  isa = float_isa(isa);
  if (isa == Isa::kAvx512) return {&silu_mul_avx512, &rms_norm_row_avx512};
  if (isa == Isa::kAvx2) return {&silu_mul_avx2, &rms_norm_row_avx2};
#else
  (void)isa;
#endif
  return {};
}

}  // namespace

void silu_mul_cpu(const float* gate, const float* up, int64_t n, float* out, ThreadPool& pool,
                  Isa isa) {
  const auto run = variants(isa).silu_mul;
  pool.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1) {
    const int64_t i0 = c0 * kChunk, i1 = std::min(n, c1 * kChunk);
    run(gate + i0, up + i0, i1 - i0, out + i0);
  });
}

void rms_norm_cpu(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y,
                  ThreadPool& pool, Isa isa) {
  const auto row = variants(isa).rms_norm_row;
  const int64_t per_task = std::max<int64_t>(1, kChunk / std::max<int64_t>(dim, 1));
  pool.parallel_for((rows + per_task - 1) / per_task, [&](int64_t t0, int64_t t1) {
    for (int64_t r = t0 * per_task; r < std::min(rows, t1 * per_task); ++r)
      row(x + r * dim, w, dim, eps, y + r * dim);
  });
}

}  // namespace fathom::kernels::cpu
