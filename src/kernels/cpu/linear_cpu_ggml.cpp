// GGML blocks on the CPU paths: a row of W is dequantized to fp32 into the caller's buffer (a
// panel row for many input rows, the AVX2 tile's row buffer for a few), and the float kernels do
// the products. The values are kernels/ref's bit for bit (the SIMD dequantizers of
// ggml_dequant_simd.h keep its operations), so every path agrees with linear_ref exactly on W.
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/ggml_blocks.h"

namespace fathom::kernels::cpu {

void ggml_dequantize_isa(Isa isa, GgmlType t, const uint8_t* src, int64_t n, float* out) {
  const Isa f = float_isa(isa);
  if (f == Isa::kAvx512 && ggml_dequantize_avx512(t, src, n, out)) return;
  if ((f == Isa::kAvx512 || f == Isa::kAvx2) && ggml_dequantize_avx2(t, src, n, out)) return;
  if ((f == Isa::kNeon || f == Isa::kNeonDotprod || f == Isa::kNeonI8mm) &&
      ggml_dequantize_neon(t, src, n, out))
    return;
  ggml_dequantize(t, src, n, out);
}

void decode_row_ggml(const LinearWeight& w, int64_t o, float* buf) {
  const int64_t row_bytes = ggml_row_bytes(w.ggml_type, w.in_features);
  ggml_dequantize_isa(best_isa(), w.ggml_type,
                      static_cast<const uint8_t*>(w.values) + o * row_bytes, w.in_features, buf);
}

}  // namespace fathom::kernels::cpu
