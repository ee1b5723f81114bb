// bf16 decode on AVX2: one x row against the 12-bit packed copy (kernels/bf16_packed.h) on
// CPUs without AVX-512 BF16, where one token reads every weight once and the plain bf16
// kernels run at the read bandwidth: the packed copy is three quarters of the bytes.
#pragma once

#include "base/thread_pool.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// y[out] = x . W^T in fp32 FMAs (within the fp32 kernels' summation-order tolerance of
/// linear_ref, in either ActivationPrecision: x is never rounded) from w's packed copy when it
/// is ready; false, with y untouched, when there is no copy yet.
/// PRECOND: the CPU has AVX2 and FMA (isa_available(Isa::kAvx2)).
bool linear_bf16_packed_avx2(const LinearWeight& w, const float* x, float* y, ThreadPool& pool);

}  // namespace fathom::kernels::cpu
