// GGML blocks in integer form, for the integer dot-product kernels (ActivationPrecision::
// kReduced) and their oracle: weight j of a block is d * scale[j] * q[j] - dmin * min[j] with
// integer scale, q and min, as llama.cpp's vec_dot_*_q8_* read them. The types the integer
// kernels take (ggml_int_type): Q8_0 (q = the int8 code, scale 1), Q4_0 (q = the 4-bit code
// minus 8, scale 1), Q5_0 (q = the 5-bit code minus 16, scale 1), Q4_K and Q5_K (q = the 4- or
// 5-bit code, scale and min the sub-block's 6-bit pair) and Q6_K (q = the 6-bit code minus 32,
// scale the sub-block's int8). Defined in kernels/ref/ggml_int_blocks.cpp.
#pragma once

#include <cstdint>

#include "tensor/ggml_type.h"

namespace fathom::kernels {

/// Whether ggml_int_block decodes type t (and the integer kernels take it).
bool ggml_int_type(GgmlType t);

/// One block (ggml_block_elements(t) weights) in integer form.
struct GgmlIntBlock {
  float d = 0.0f;     ///< the block's f16 scale, as a float
  float dmin = 0.0f;  ///< Q4_K's and Q5_K's f16 min scale; 0 for the others
  int32_t q[256] = {};
  int32_t scale[256] = {};
  int32_t min[256] = {};
};

/// The block of type t at `src`. PRECOND: ggml_int_type(t).
void ggml_int_block(GgmlType t, const uint8_t* src, GgmlIntBlock* out);

}  // namespace fathom::kernels
