// Fast CPU attention; kernels/ref/attention.cpp (paged_attention) is the oracle it is tested
// against (tests/kernels/attention_parity_test.cpp) for every KvDtype and instruction-set path.
#pragma once

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/ops.h"

namespace fathom::kernels::cpu {

/// Same contract as kernels::paged_attention, for a cache of any KvDtype. `isa`: the path
/// (the x86 ISAs from kAvx2 up run the AVX2+FMA+F16C tiles, the kNeon family NEON, kScalar
/// portable code). PRECOND: isa_available(isa).
void paged_attention_cpu(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
                         const float* q, float* out, ThreadPool& pool, Isa isa = best_isa());
/// Same contract as kernels::paged_mla_attention (absorbed MLA: every head attends over the
/// shared latent cache, read once per token for all heads).
void paged_mla_attention_cpu(const MlaShape& shape, const TokenLayout& tokens,
                             const PagedCache& cache, const float* q_latent, const float* q_rope,
                             float* out, ThreadPool& pool, Isa isa = best_isa());

}  // namespace fathom::kernels::cpu
