// The integer GEMM for many rows (LinearPath::kIntGemm): int8 and int4 weights against
// kReduced int8 activations on AVX-512 VNNI (linear_int_gemm_avx512vnni.cpp) and on AVX2 with
// vpmaddubsw (linear_int_gemm_avx2.cpp: 8 rows to a ymm, the same broadcast scheme).
//
// The few-rows kernel (linear_int_dot.h) keeps weights in vectors and reduces every (output,
// row) dot product across lanes, so each vpdpbusd serves one output and one row. Here x is
// packed per call with 16 rows in the 16 int32 lanes of a zmm, 4 consecutive columns per lane
// ([row group][span / 4][16 rows][4 bytes]), and 4 weight bytes are broadcast to every lane:
// one vpdpbusd adds 4 columns for 16 rows of one output, with no cross-lane reduction and no
// repacking of the weights (a 4-byte broadcast reads them from their stored layout).
// Register tile: 6 outputs x 2 row groups (12 x 1 for up to 16 rows) of int32 sums per
// activation block, scaled into float sums per block (weight scale x x's block scale).
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/int4_panel.h"
#include "kernels/linear.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// kAuto sends kReduced int8 / int4 calls of this many rows or more to the GEMM; below it the
/// few-rows kernel is as fast or faster (a row group of 16 lanes is mostly padding). Measured
/// with linear_bench --compare (docs/benchmarks.md): at 6 rows the GEMM already won, at 4 rows
/// it lost for int8.
inline constexpr int64_t kIntGemmMinRows = 8;
/// The same for AVX2's GEMM and int4 weights (8-row groups): at 4 rows it beat the few-rows
/// kernel by 1.15-1.5x, at 2 rows it lost (linear_bench --compare on a Zen 3, docs/benchmarks.md).
/// Int8 keeps kIntGemmMinRows: at 4 and 6 rows the few-rows kernel still won one of two shapes.
inline constexpr int64_t kIntGemmMinRowsAvx2Int4 = 4;

/// y[num_rows, out] = x . W^T with x rounded to kReduced codes exactly as linear_ref_reduced
/// does. PRECOND: int_dot_applies(w), the CPU has AVX-512 VNNI, x in stored column order.
/// Returns false, having written nothing, when x holds a NaN or an infinity.
bool int_gemm_avx512vnni(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                         ThreadPool& pool);

/// The same on AVX2 (also AVX-VNNI CPUs). PRECOND: int_dot_applies(w), not GGML, the CPU has AVX2.
bool int_gemm_avx2(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                   ThreadPool& pool);

/// One block of one row of x (n columns, a multiple of 16) quantized exactly as
/// quantize_activation_block does in kReduced (the same float max, the same double products,
/// rounded to nearest even as lrint does), written as 4-byte words of 4 columns, word_stride
/// bytes apart from dst on (int4: each 8 columns as [0 2 4 6] [1 3 5 7], the even and odd
/// nibbles of a weight word). False for a NaN or an infinity. PRECOND: AVX-512 VNNI.
bool quantize_x_block_avx512(const float* xb, int64_t n, bool int4, uint8_t* dst,
                             int64_t word_stride, float* scale, float* code_sum);

/// y[num_rows, out] = x . W^T for kInt4Grouped w from its panel copy p (kernels/int4_panel.h),
/// x rounded as linear_ref_reduced does (linear_int4_panel_avx512vnni.cpp).
/// PRECOND: p was packed from w, 1 <= num_rows <= kInt4PanelMaxRows, the CPU has AVX-512 VNNI.
/// False, having written nothing, when x holds a NaN or an infinity.
bool int4_panel_avx512vnni(const LinearWeight& w, const Int4Panel& p, const float* x,
                           int64_t num_rows, float* y, ThreadPool& pool);

}  // namespace fathom::kernels::cpu
