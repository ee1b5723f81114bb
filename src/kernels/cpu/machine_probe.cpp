#include "kernels/cpu/machine_probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace fathom::kernels::cpu {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

float sum_scalar(const float* p, size_t n) {
  float acc[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

// Multiply-adds per call: iters x lanes x chains; returns a value so nothing is optimised out.
float fma_chains_scalar(int64_t iters) {
  float a[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  for (int64_t i = 0; i < iters; ++i)
    for (float& v : a) v = v * 0.999999f + 1e-7f;
  return a[0] + a[7];
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) float sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  alignas(32) float out[8];
  _mm256_store_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

// kChains independent FMA chains cover the FMA latency on every core we run on.
constexpr int kChains = 12;

__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iters) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + static_cast<float>(c) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], m, b);
  }
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += _mm256_cvtss_f32(acc[c]);
  return s;
}

// acc + the 16 lanes' pairs of b . b, as vdpbf16ps: asm, so that nothing else in the function
// that calls it may assume AVX-512 BF16 (by value: an asm operand on an array element would
// keep the whole array in memory).
__attribute__((target("avx512f"))) inline __m512 dpbf16(__m512 acc, __m512 b) {
  asm("vdpbf16ps %1, %1, %0" : "+v"(acc) : "v"(b));
  return acc;
}

// kBf16: the same chains of vdpbf16ps (16 lanes x 2 multiply-adds), the instruction of the
// kReduced bf16 kernels.
template <bool kBf16>
__attribute__((target("avx512f"))) float fma_chains_avx512(int64_t iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + static_cast<float>(c) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) {
      if constexpr (kBf16)
        acc[c] = dpbf16(acc[c], b);  // b: two normal bf16
      else
        acc[c] = _mm512_fmadd_ps(acc[c], m, b);
    }
  }
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += _mm512_cvtss_f32(acc[c]);
  return s;
}

// The sum of the chains' first int32 lanes (a result, so nothing is optimised out).
template <class V>
float first_lanes(const V (&acc)[kChains]) {
  int32_t s = 0;
  for (const V& v : acc) {
    int32_t lane;
    std::memcpy(&lane, &v, sizeof lane);
    s += lane;
  }
  return static_cast<float>(s);
}

// acc + a . a as vpdpbusd, by value as dpbf16 above: the instruction alone in the loop, as the
// kernels issue it (kernels/cpu/vpdpbusd.h; the intrinsic's loop also copies each accumulator
// to another register and back, which measured no slower here, docs/benchmarks.md).
__attribute__((target("avx512f"))) inline __m512i dpbusd(__m512i acc, __m512i a) {
  asm("vpdpbusd %1, %1, %0" : "+v"(acc) : "v"(a));
  return acc;
}
__attribute__((target("avx2"))) inline __m256i dpbusd(__m256i acc, __m256i a) {
  asm("%{vex%} vpdpbusd %1, %1, %0" : "+v"(acc) : "v"(a));
  return acc;
}

// vpdpbusd (16 or 8 lanes x 4 byte products), the kReduced integer kernels' instruction.
__attribute__((target("avx512f"))) float int8_chains_avx512(int64_t iters) {
  __m512i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
  const __m512i a = _mm512_set1_epi8(1);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = dpbusd(acc[c], a);
  }
  return first_lanes(acc);
}

// vpmaddubsw, vpmaddwd by ones, vpaddd: what AVX2's integer kernels issue per 8 lanes x 4 byte
// products where VNNI has one vpdpbusd (linear_int_gemm_avx2.cpp, linear_int_avx2.cpp).
__attribute__((target("avx2"))) inline __m256i maddubs_chain(__m256i acc, __m256i a, __m256i ones) {
  __m256i t;
  asm("vpmaddubsw %2, %2, %1\n\tvpmaddwd %3, %1, %1\n\tvpaddd %1, %0, %0"
      : "+x"(acc), "=&x"(t)
      : "x"(a), "x"(ones));
  return acc;
}

__attribute__((target("avx2"))) float int8_chains_avx2(int64_t iters) {
  __m256i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
  const __m256i a = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = maddubs_chain(acc[c], a, ones);
  }
  return first_lanes(acc);
}

__attribute__((target("avx2"))) float int8_chains_avxvnni(int64_t iters) {
  __m256i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
  const __m256i a = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = dpbusd(acc[c], a);
  }
  return first_lanes(acc);
}
#endif

#if defined(__aarch64__)
// 12 chains of 4-lane FMAs (fmla latency 4 x 2 pipes on the big cores), as on x86.
constexpr int kNeonChains = 12;

float fma_chains_neon(int64_t iters) {
  float32x4_t acc[kNeonChains];
  for (int c = 0; c < kNeonChains; ++c) acc[c] = vdupq_n_f32(1.0f + static_cast<float>(c) * 1e-3f);
  const float32x4_t m = vdupq_n_f32(0.999999f), b = vdupq_n_f32(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kNeonChains; ++c) acc[c] = vfmaq_f32(b, acc[c], m);
  }
  float s = 0;
  for (int c = 0; c < kNeonChains; ++c) s += vgetq_lane_f32(acc[c], 0);
  return s;
}
#endif

float sum_floats(const float* p, size_t n, Isa isa) {
#if defined(__x86_64__)
  if (isa != Isa::kScalar) return sum_avx2(p, n);
#endif
  (void)isa;
  return sum_scalar(p, n);
}

/// Flops per call of fma_chains_*: iterations x chains x lanes x 2.
struct FmaKernel {
  float (*run)(int64_t iters);
  int64_t flops_per_iter;
};

FmaKernel fma_kernel(Isa isa) {
  isa = float_isa(isa);
#if defined(__x86_64__)
  if (isa == Isa::kAvx512) return {fma_chains_avx512<false>, kChains * 16 * 2};
  if (isa == Isa::kAvx2) return {fma_chains_avx2, kChains * 8 * 2};
#elif defined(__aarch64__)
  if (isa != Isa::kScalar) return {fma_chains_neon, kNeonChains * 4 * 2};
#endif
  (void)isa;
  return {fma_chains_scalar, 8 * 2};
}

}  // namespace

double measure_read_gbps(ThreadPool& pool, size_t bytes, int reps) {
  const size_t n = bytes / sizeof(float);
  std::vector<float> buf(n, 1.0f);  // written once: every page is resident before timing
  const Isa isa = best_isa();
  const int64_t parts = pool.num_threads();
  std::atomic<float> sink{0};
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = Clock::now();
    pool.parallel_for(parts, [&](int64_t b, int64_t e) {
      for (int64_t part = b; part < e; ++part) {
        const size_t lo = n * static_cast<size_t>(part) / static_cast<size_t>(parts);
        const size_t hi = n * static_cast<size_t>(part + 1) / static_cast<size_t>(parts);
        sink.store(sink.load(std::memory_order_relaxed) + sum_floats(buf.data() + lo, hi - lo, isa),
                   std::memory_order_relaxed);
      }
    });
    best = std::max(best, static_cast<double>(n * sizeof(float)) / seconds_since(t0) / 1e9);
  }
  return sink.load() == -1.0f ? 0 : best;  // the sink is never -1; reading it keeps the sums
}

namespace {

// The chains of `kind`'s instruction on this CPU; {nullptr, 0} where it has none.
FmaKernel dot_kernel(DotPeak kind) {
#if defined(__x86_64__)
  const Isa isa = best_isa();
  if (kind == DotPeak::kBf16 && float_isa(isa) == Isa::kAvx512 &&
      __builtin_cpu_supports("avx512bf16"))
    return {fma_chains_avx512<true>, kChains * 16 * 2 * 2};
  if (kind == DotPeak::kInt8 && isa == Isa::kAvx512Vnni)
    return {int8_chains_avx512, kChains * 16 * 4 * 2};
  if (kind == DotPeak::kInt8 && isa == Isa::kAvxVnni)
    return {int8_chains_avxvnni, kChains * 8 * 4 * 2};
  if (kind == DotPeak::kInt8 && isa == Isa::kAvx2) return {int8_chains_avx2, kChains * 8 * 4 * 2};
#endif
  if (kind == DotPeak::kFma) return fma_kernel(best_isa());
  return {nullptr, 0};
}

double time_chains(ThreadPool& pool, const FmaKernel& k, double seconds) {
  const int64_t parts = pool.num_threads();
  // Calibrate the iteration count on one thread, then time all threads together.
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = Clock::now();
    volatile float v = k.run(iters);
    (void)v;
    if (seconds_since(t0) > seconds / 4 || iters > (int64_t{1} << 34)) break;
    iters *= 2;
  }
  std::atomic<float> sink{0};
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    pool.parallel_for(parts, [&](int64_t b, int64_t e) {
      for (int64_t part = b; part < e; ++part)
        sink.store(sink.load(std::memory_order_relaxed) + k.run(iters), std::memory_order_relaxed);
    });
    const double flops = static_cast<double>(iters * k.flops_per_iter * parts);
    best = std::max(best, flops / seconds_since(t0) / 1e9);
  }
  return sink.load() == -1.0f ? 0 : best;
}

}  // namespace

double measure_peak_gflops(ThreadPool& pool, Isa isa, double seconds) {
  return time_chains(pool, fma_kernel(isa), seconds);
}

double measure_dot_peak_gflops(ThreadPool& pool, DotPeak kind, double seconds) {
  const FmaKernel k = dot_kernel(kind);
  return k.run ? time_chains(pool, k, seconds) : 0.0;
}

const char* dot_peak_name(DotPeak kind) {
  switch (kind) {
    case DotPeak::kBf16:
      return "vdpbf16ps";
    case DotPeak::kInt8:
      return best_isa() == Isa::kAvx2 ? "vpmaddubsw+vpmaddwd" : "vpdpbusd";
    default:
      return "f32 FMA";
  }
}

MachineLimits probe_machine(ThreadPool& pool) {
  MachineLimits m;
  m.isa = best_isa();
  m.threads = pool.num_threads();
  m.read_gbps = measure_read_gbps(pool);
  m.peak_gflops = measure_peak_gflops(pool, m.isa);
  return m;
}

}  // namespace fathom::kernels::cpu
