// llama.cpp's k-quant encoders (ggml-quants.c quantize_q4_K / quantize_q5_K / quantize_q6_K):
// per sub-block a search over scales (and mins) that minimises the weighted squared error,
// then the sub-block scales themselves quantized to 6 or 8 bits. With an importance vector
// (an imatrix row: the mean x_j^2 of each input column over calibration tokens) the error is
// weighted by it, as llama-quantize --imatrix does. Defined in kernels/ref/ggml_kquants.cpp;
// the blocks decode with ggml_dequantize.
#pragma once

#include <cstdint>

#include "tensor/ggml_type.h"

namespace fathom::kernels {

/// dst = `rows` rows of `cols` floats encoded as type t. Q4_K, Q5_K and Q6_K use llama.cpp's
/// searches (importance-weighted when `importance`, cols values, is given); every other type
/// is ggml_quantize's round to nearest, which for Q8_0 is llama.cpp's own encoder.
/// PRECOND: cols % ggml_block_elements(t) == 0.
void ggml_quantize_rows(GgmlType t, const float* x, int64_t rows, int64_t cols,
                        const float* importance, uint8_t* dst);

}  // namespace fathom::kernels
