// Internals of the CPU linear kernels, shared by linear_cpu.cpp (threads, dispatch, portable
// scalar path) and linear_cpu_avx2.cpp (x86 AVX2+FMA+F16C path). Tests use linear_cpu_isa to
// check every instruction-set path against the reference on the same machine.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/linear.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// Many rows (kPanelMinRows or more) go to the packed-panel GEMM of the ISA (linear_panel.h),
/// a few to the tiles that decode weights inside the dot products (AVX2 also for kAvx512).
/// kAvxVnni and kAvx512Vnni are kAvx2 and kAvx512 plus vpdpbusd (ymm / zmm) for the integer
/// kernels (LinearPath::kInt); their float kernels are those of the base ISA (float_isa).
/// The ARM paths (linear_cpu_neon.h): kNeon is fp32 NEON for every format; kNeonDotprod and
/// kNeonI8mm also take int8 and int4 weights through sdot / smmla.
enum class Isa : uint8_t {
  kScalar,
  kAvx2,
  kAvxVnni,
  kAvx512,
  kAvx512Vnni,
  kNeon,
  kNeonDotprod,
  kNeonI8mm
};
/// Every path, worst first (a later one is preferred when the CPU has it).
inline constexpr Isa kAllIsas[] = {Isa::kScalar,     Isa::kAvx2, Isa::kAvxVnni,     Isa::kAvx512,
                                   Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDotprod, Isa::kNeonI8mm};
/// The ISA whose float kernels `isa` runs (kAvx2 for kAvxVnni, kAvx512 for kAvx512Vnni).
Isa float_isa(Isa isa);

const char* isa_name(Isa isa);
/// The best path this CPU runs (checked once, at run time).
Isa best_isa();
/// False when the CPU lacks what `isa` needs.
bool isa_available(Isa isa);

/// The kernel family a call runs on:
///   kTiles  weights decoded inside the dot products, up to 4 rows per pass (scalar, AVX2)
///   kRows   AVX-512: 4 outputs x 4 rows register tiles over the stored layout (few rows)
///   kPanel  packed-panel GEMM: weights decoded and transposed per call (many rows)
///   kInt    x86 integer dot products (linear_int_dot.h) for int8 and int4 weights: x as int8
///           limbs (kExact: three, within fp32 rounding) or int8 codes (kReduced); and
///           (linear_int_ggml.h) for GGML Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K blocks, kReduced only
///   kIntGemm  AVX-512 VNNI integer GEMM for many rows (linear_int_gemm.h): int8 and int4
///           weights (not GGML blocks), kReduced only
/// kAuto picks by ISA, row count, format and activation precision; a forced path the ISA or
/// format cannot run falls back to kAuto's choice (benchmarks and tests force each path).
enum class LinearPath : uint8_t { kAuto, kTiles, kRows, kPanel, kInt, kIntGemm };

const char* path_name(LinearPath p);

/// kAuto takes LinearPath::kInt for kReduced activations below this many rows (decode, batched
/// decode); from it on, and for kExact except one row of int4 on AVX2 / AVX-VNNI
/// (kRowsMinRowsAvx2Int4), the float kernels measured faster (linear_bench --compare,
/// docs/benchmarks.md). kIntGemm (AVX-512 VNNI, AVX2) takes kReduced
/// int8 / int4 from kIntGemmMinRows rows on (int4 on AVX2: kIntGemmMinRowsAvx2Int4;
/// linear_int_gemm.h), prefill included.
inline constexpr int64_t kIntMaxRows = 64;
/// GGML Q8_0 and Q4_0 (32-column blocks: an fp32 conversion and fmadd per block, output and
/// row) take kInt for one and two rows only (the one-output tiles of int_tile_rows.h): from 3
/// rows on the AVX-512 rows kernel, decoding a block once for 4 rows, measured faster
/// (linear_bench --compare, docs/benchmarks.md). Q5_0, which no float kernel decodes in
/// registers, keeps kIntMaxRows.
inline constexpr int64_t kGgmlBlock32IntMaxRows = 3;
/// The row count from which kAuto leaves kInt for weight w (kIntMaxRows or the above).
int64_t int_max_rows(const LinearWeight& w);
/// Whether LinearPath::kInt runs this weight on `isa` with activations `act`: int_dot_applies
/// (quantize_activations.h) on kAvxVnni / kAvx512Vnni, and on kAvx2 (vpmaddubsw) int4 in both
/// modes and int8 in kReduced only; GGML blocks of ggml_int_type on all three, kReduced only.
bool int_dot_supported(const LinearWeight& w, Isa isa, ActivationPrecision act);
/// Whether LinearPath::kIntGemm runs this weight: int_dot_applies but not kGgml, kReduced, on
/// kAvx512Vnni (vpdpbusd) or kAvx2 / kAvxVnni (vpmaddubsw).
bool int_gemm_supported(const LinearWeight& w, Isa isa, ActivationPrecision act);

/// Whether one x row on `isa` reads a weight's 12-bit packed copy (kernels/bf16_packed.h): the
/// AVX-512 BF16 kernel (linear_bf16_avx512.h) or the AVX2 one (linear_bf16_packed_avx2.h). The
/// load packs bf16 weights only where best_isa() does.
bool reads_bf16_packed(Isa isa);

/// The path linear_cpu_isa takes for these arguments (never kAuto).
LinearPath choose_path(const LinearWeight& w, int64_t num_rows, Isa isa, LinearPath want,
                       ActivationPrecision act = ActivationPrecision::kExact);

/// linear_cpu on a chosen ISA (and path). PRECOND: isa_available(isa).
void linear_cpu_isa(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                    ThreadPool& pool, Isa isa, LinearPath path = LinearPath::kAuto,
                    ActivationPrecision act = ActivationPrecision::kExact);

/// One tile of work: y[r, o] for r in [0, num_rows), o in [o_begin, o_end).
/// x: [num_rows, in] in STORED column order (already gathered through input_perm), row stride
/// `in`; y: [num_rows, out] row stride `out`.
struct LinearTile {
  const float* x = nullptr;
  int64_t num_rows = 0;
  float* y = nullptr;
  int64_t o_begin = 0;
  int64_t o_end = 0;
  /// Int4 with contiguous groups on the AVX2 path: [num_rows, num_groups] sums of x over each
  /// group's columns below in & ~7 (the SIMD part), so the kernel can apply the zero point
  /// once per group: sum x (q - z) = sum x q - z sum x. nullptr otherwise.
  const float* x_group_sums = nullptr;
  /// Distinct for every linear_cpu_isa call: linear_panel_avx512 keeps the weight rows it
  /// decoded for (call_id, o_begin), so the row chunks of one output tile decode them once.
  uint64_t call_id = 0;
};

/// True when linear_tile_avx2 wants LinearTile::x_group_sums for this weight.
bool avx2_wants_group_sums(const LinearWeight& w);

void linear_tile_scalar(const LinearWeight& w, const LinearTile& tile);
/// Outputs per linear_panel_avx512 task, and the fewest rows for which it beats the AVX2 tiles
/// (below it, decoding weights inside the dot products streams them once, which is what a
/// memory-bound decode step wants).
inline constexpr int64_t kPanelOut = 32;
inline constexpr int64_t kPanelMinRows = 8;
/// Rows per linear_panel_avx512 task: their x block (kPanelRows x 256 floats) stays in L2.
inline constexpr int64_t kPanelRows = 192;
/// Every row of `tile` (any number) for at most kPanelOut outputs; ignores x_group_sums.
void linear_panel_avx512(const LinearWeight& w, const LinearTile& tile);
/// The same on AVX2 (16-lane panels: two ymm per row), for at most kPanelOutAvx2 outputs.
inline constexpr int64_t kPanelOutAvx2 = 16;
void linear_panel_avx2(const LinearWeight& w, const LinearTile& tile);
void linear_tile_avx2(const LinearWeight& w, const LinearTile& tile);

/// The few-rows kernels of linear_rows.h (linear_rows_avx512.cpp: 4 outputs x 4 rows tiles;
/// linear_cpu_avx2.cpp: 2 x 4): weights streamed from their stored layout once per row group
/// and decoded in registers. For fewer than kRowsMaxRows rows on AVX-512, [kRowsMinRowsAvx2,
/// kRowsMaxRowsAvx2) on AVX2 (the tiles' 4-chain loop is as fast for one to three rows, the
/// panel GEMM from about 24) -- crossovers measured with linear_bench --compare. Any number of
/// rows and outputs; they ignore x_group_sums and call_id.
inline constexpr int64_t kRowsMaxRows = 64;
/// The fewest rows (kReduced, AVX-512 BF16) read from a bf16 weight's ready-made panel copy
/// (linear_bf16_panel) instead of the rows kernel.
inline constexpr int64_t kBf16PanelMinRows = 2;
inline constexpr int64_t kRowsMinRowsAvx2 = 4, kRowsMaxRowsAvx2 = 24;
/// Integer weights decode slower into the AVX2 panel than bf16 does, so the rows kernel keeps
/// them longer: int8 below 64 rows (1.7x the panel at 32), int4 from 2 rows (1.9-2.1x the tiles
/// at 2) below 128 (2.2x the panel at 32, even at 128). One exact row of int4 takes the integer
/// kernel's three limbs instead (kInt: 1.75-1.8x the tiles). linear_bench --compare on a Zen 3.
inline constexpr int64_t kRowsMaxRowsAvx2Int8 = 64;
inline constexpr int64_t kRowsMinRowsAvx2Int4 = 2, kRowsMaxRowsAvx2Int4 = 128;
/// False for layouts without a decoder (int4 with scattered groups, groups or fp8 blocks that
/// are not a whole number of vectors wide).
bool rows_avx512_supports(const LinearWeight& w);
bool rows_avx2_supports(const LinearWeight& w);
void linear_rows_avx2(const LinearWeight& w, const LinearTile& tile);
void linear_rows_avx512(const LinearWeight& w, const LinearTile& tile);

/// Stored row o of W, dequantized into buf[in] (stored column order). Bit-exact with
/// detail::weight_element.
void decode_row_scalar(const LinearWeight& w, int64_t o, float* buf);
/// The same for kGgml (linear_cpu_ggml.cpp). Every path (the panels for many rows, the AVX2
/// tiles' row buffer for a few) decodes GGML blocks through it, then runs its float kernel.
/// Q8_0, Q4_0, Q4_K and Q6_K decode with the best SIMD dequantizer of best_isa().
void decode_row_ggml(const LinearWeight& w, int64_t o, float* buf);
/// ggml_dequantize (kernels/ref, the oracle) with `isa`'s SIMD dequantizer where it has one for
/// type t (ggml_dequant_simd.h); bit-identical to the reference either way.
void ggml_dequantize_isa(Isa isa, GgmlType t, const uint8_t* src, int64_t n, float* out);
bool ggml_dequantize_avx2(GgmlType t, const uint8_t* src, int64_t n, float* out);
bool ggml_dequantize_avx512(GgmlType t, const uint8_t* src, int64_t n, float* out);
bool ggml_dequantize_neon(GgmlType t, const uint8_t* src, int64_t n, float* out);

}  // namespace fathom::kernels::cpu
