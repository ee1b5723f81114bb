// The oracle: one element at a time, double accumulation, one thread. Slow on purpose.
#include <vector>

#include "kernels/ggml_blocks.h"
#include "kernels/linear.h"
#include "kernels/weight_element.h"

namespace fathom::kernels {

void linear_ref(const LinearWeight& w, const float* x, int64_t num_rows, float* y) {
  const int64_t in = w.in_features, out = w.out_features;
  if (w.format == WeightFormat::kGgml) {  // blocks: dequantize each row once, not per element
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t o = 0; o < out; ++o) {
      dequantize_row(w, o, row.data());
      for (int64_t r = 0; r < num_rows; ++r) {
        double acc = 0.0;
        for (int64_t j = 0; j < in; ++j) acc += double{x[r * in + j]} * double{row[j]};
        y[r * out + o] = static_cast<float>(acc);
      }
    }
    return;
  }
  for (int64_t r = 0; r < num_rows; ++r) {
    const float* xr = x + r * in;  // [in]
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0.0;
      for (int64_t j = 0; j < in; ++j)
        acc += double{xr[detail::input_column(w, j)]} * double{detail::weight_element(w, o, j)};
      y[r * out + o] = static_cast<float>(acc);
    }
  }
}

void dequantize_row(const LinearWeight& w, int64_t row, float* out) {
  if (w.format == WeightFormat::kGgml)
    return ggml_dequantize(w.ggml_type,
                           static_cast<const uint8_t*>(w.values) +
                               row * ggml_row_bytes(w.ggml_type, w.in_features),
                           w.in_features, out);
  // out[input_column(j)] so that out is W's row in W's own column order.
  for (int64_t j = 0; j < w.in_features; ++j)
    out[detail::input_column(w, j)] = detail::weight_element(w, row, j);
}

}  // namespace fathom::kernels
