// GGML block formats (llama.cpp's ggml-common.h layouts): dequantization, exactly as llama.cpp's
// reference dequantize_row_* computes each value, and simple round-to-nearest quantizers (for the
// GGUF writer and tests; not llama.cpp's error-minimising searches). Defined in
// kernels/ref/ggml_blocks.cpp.
#pragma once

#include <cstdint>

#include "tensor/ggml_type.h"

namespace fathom::kernels {

/// out[0, n) = the n elements of type t stored at src. PRECOND: n % ggml_block_elements(t) == 0.
void ggml_dequantize(GgmlType t, const uint8_t* src, int64_t n, float* out);

/// dst[0, ggml_row_bytes(t, n)) = x[0, n) quantized with round-to-nearest scales and codes.
/// PRECOND: n % ggml_block_elements(t) == 0.
void ggml_quantize(GgmlType t, const float* x, int64_t n, uint8_t* dst);

}  // namespace fathom::kernels
