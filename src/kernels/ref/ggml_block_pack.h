// Bit packing of the k-quant super-blocks (ggml-common.h block_q4_K, block_q5_K, block_q6_K)
// from their codes and scales: shared by the round-to-nearest quantizers (ggml_blocks.cpp) and
// llama.cpp's error-minimising searches (ggml_kquants.cpp). Defined in ggml_blocks.cpp.
#pragma once

#include <cstdint>

namespace fathom::kernels {

/// block_q4_K (bits 4) or block_q5_K (bits 5) from d, dmin (stored as f16), the 6-bit scales
/// ls[8] and mins lm[8] of the eight 32-element sub-blocks and the 256 codes (0..2^bits-1).
void pack_q45_k(float d, float dmin, const uint8_t* ls, const uint8_t* lm, const uint8_t* codes,
                int bits, uint8_t* b);

/// block_q6_K from d (f16), the 16 signed 8-bit sub-block scales and the 256 codes (0..63, the
/// value plus 32).
void pack_q6_k(float d, const int8_t* scales, const uint8_t* codes, uint8_t* b);

}  // namespace fathom::kernels
