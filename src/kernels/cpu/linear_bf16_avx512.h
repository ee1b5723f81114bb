// bf16 dot products on AVX-512 BF16 (vdpbf16ps): ActivationPrecision::kReduced for bf16 and
// f16 weights. x is rounded to bf16 once per call (vcvtne2ps2bf16: round to nearest even), f16
// weights to bf16 as they are loaded; every product of two bf16 is exact in fp32 and vdpbf16ps
// adds two of them per fp32 lane, so one instruction does 32 multiply-adds on a zmm -- twice the
// fp32 FMA. The oracle is linear_ref_bf16 (kernels/linear_bf16.h).
//   kRows  (few rows) 4 outputs x 4 rows register tiles over the stored weight rows, 32 columns
//          per instruction, one horizontal sum per output and row at the end.
//   kPanel (many rows) the 48 weight rows of an output tile interleaved once per call into
//          column pairs [in / 2][48] (what vdpbf16ps multiplies against a broadcast pair of x;
//          kernels/bf16_panel.h's layout, which linear_bf16_panel reads ready-made), then an
//          8 x 48 micro-kernel (24 zmm accumulators) over 256-column blocks that stay in L1.
//          No weight is decoded to fp32.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear.h"

namespace fathom::kernels::cpu {

/// The CPU has AVX-512 BF16 (checked once). FATHOM_CPU_ISA=avx2 or lower turns the path off,
/// since linear_cpu then never passes Isa::kAvx512.
bool avx512_bf16_available();

/// Whether linear_cpu_isa with these arguments multiplies in bf16: kReduced, a bf16 or f16
/// weight, kAvx512 on a CPU with AVX-512 BF16, and the rows or panel family.
bool uses_bf16_dot(const LinearWeight& w, int64_t num_rows, Isa isa, LinearPath path,
                   ActivationPrecision act);

/// One x row against w's 12-bit packed copy (LinearWeight::bf16_packed, kernels/bf16_packed.h)
/// when it is ready: kReduced as linear_bf16_avx512, kExact in fp32 FMAs as the fp32 kernels
/// (within their summation-order tolerance). False, with y untouched, when there is no copy yet.
/// PRECOND: avx512_bf16_available().
bool linear_bf16_packed(const LinearWeight& w, const float* x, float* y, ThreadPool& pool,
                        ActivationPrecision act);

/// kReduced rows against w's panel copy (LinearWeight::bf16_panel, kernels/bf16_panel.h) when
/// it is ready: the kPanel kernel without its per-call interleaving. False, with y untouched,
/// when there is no copy yet. PRECOND: avx512_bf16_available(), num_rows > 0.
bool linear_bf16_panel(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                       ThreadPool& pool);

/// y[num_rows, out] = bf16(x) . bf16(W)^T. PRECOND: avx512_bf16_available(), w is bf16 or f16,
/// path is kRows or kPanel, in_features > 0.
void linear_bf16_avx512(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                        ThreadPool& pool, LinearPath path);

}  // namespace fathom::kernels::cpu
