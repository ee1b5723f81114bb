// Fast CPU attention; kernels/ref/attention.cpp (paged_attention) is the oracle it is tested
// against (tests/kernels/attention_parity_test.cpp).
#pragma once

#include "base/thread_pool.h"
#include "kernels/ops.h"

namespace fathom::kernels::cpu {

/// Same contract as kernels::paged_attention. `simd`: use AVX2+FMA or NEON when the CPU has it
/// (tests pass false to check the portable path on the same machine).
void paged_attention_cpu(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
                         const float* q, float* out, ThreadPool& pool, bool simd = true);
/// Same contract as kernels::paged_mla_attention (absorbed MLA: every head attends over the
/// shared latent cache, read once per token for all heads).
void paged_mla_attention_cpu(const MlaShape& shape, const TokenLayout& tokens,
                             const PagedCache& cache, const float* q_latent, const float* q_rope,
                             float* out, ThreadPool& pool, bool simd = true);
bool attention_simd_available();

}  // namespace fathom::kernels::cpu
