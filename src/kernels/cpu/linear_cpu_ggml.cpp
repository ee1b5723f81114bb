// GGML blocks on the CPU paths: a row of W is dequantized to fp32 into the caller's buffer (a
// panel row for many input rows, the AVX2 tile's row buffer for a few), and the float kernels do
// the products. The values are kernels/ref's, so every path agrees with linear_ref exactly on W.
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/ggml_blocks.h"

namespace fathom::kernels::cpu {

void decode_row_ggml(const LinearWeight& w, int64_t o, float* buf) {
  const int64_t row_bytes = ggml_row_bytes(w.ggml_type, w.in_features);
  ggml_dequantize(w.ggml_type, static_cast<const uint8_t*>(w.values) + o * row_bytes, w.in_features,
                  buf);
}

}  // namespace fathom::kernels::cpu
