// Fast CPU element-wise ops; kernels/ref/elementwise.cpp is the oracle they are tested against
// (tests/kernels/elementwise_cpu_test.cpp) on every instruction-set path the CPU has.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"

namespace fathom::kernels::cpu {

/// out[i] = silu(gate[i]) * up[i], as kernels::silu_mul within a few float ulps (exp by a
/// polynomial on 16 or 8 lanes), split over `pool`. `isa`: kAvx512 and kAvx512Vnni run AVX-512F,
/// kAvx2 and kAvxVnni AVX2+FMA, the others the reference loop. PRECOND: isa_available(isa).
void silu_mul_cpu(const float* gate, const float* up, int64_t n, float* out, ThreadPool& pool,
                  Isa isa = best_isa());

/// kernels::rms_norm with the sum of squares on 8 (AVX-512) or 4 (AVX2) double lanes (only the
/// order of the additions differs), rows split over `pool`; y may alias x. Same `isa` rules as
/// silu_mul_cpu.
void rms_norm_cpu(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y,
                  ThreadPool& pool, Isa isa = best_isa());

}  // namespace fathom::kernels::cpu
