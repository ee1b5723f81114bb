// Activations (x of a linear layer) as integers for the integer dot-product kernels: each row
// is cut into blocks (the int4 group, kInt8ActivationBlock columns for int8 weights, the block of
// a GGML weight: 32 columns for Q8_0, the 256-column super-block for the k-quants as llama.cpp's
// Q8_K) of one scale each, x ~= scale * code. Shared by the CPU kernels (kernels/cpu/linear_int_x.h
// lays the codes out for them) and by linear_ref_reduced, the oracle of
// ActivationPrecision::kReduced.
#pragma once

#include <cstdint>

#include "kernels/linear.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels {

/// Columns per activation scale for int8 weights (llama.cpp's Q8_K block).
inline constexpr int64_t kInt8ActivationBlock = 256;
/// kExact codes: 24-bit fixed point (three balanced int8 digits), |code| <= kExactMaxCode.
inline constexpr int32_t kExactMaxCode = 127 * (65536 + 256 + 1);
/// kReduced codes: one int8, |code| <= 127 (llama.cpp's Q8 activations).
inline constexpr int32_t kReducedMaxCode = 127;

/// Whether the integer kernels take this weight: int8 per channel, int4 with contiguous
/// groups of a multiple of 32 columns (at most 65536, so int32 sums cannot overflow), or GGML
/// blocks of a type with an integer form (ggml_int_type: Q8_0, Q4_K, Q6_K).
bool int_dot_applies(const LinearWeight& w);

/// How a row of x is blocked. Columns [0, span) are quantized, span = in rounded down to a
/// multiple of 32; the columns past it stay fp32 (the kernels add them in scalar code).
struct ActivationBlocks {
  int64_t block = 0;  ///< columns per scale (the last block may be shorter)
  int64_t span = 0;
  int64_t count = 0;  ///< ceil(span / block)
};
/// PRECOND: int_dot_applies(w).
ActivationBlocks activation_blocks(const LinearWeight& w);

/// Quantizes x[0, n) (one block) to codes[0, n): round(x * max_code / max|x|) with max_code
/// kExactMaxCode or kReducedMaxCode; *scale = max|x| / max_code (0 for an all-zero block).
/// Returns false, writing nothing, when the block holds a NaN or an infinity.
bool quantize_activation_block(const float* x, int64_t n, ActivationPrecision act, int32_t* codes,
                               float* scale);

}  // namespace fathom::kernels
