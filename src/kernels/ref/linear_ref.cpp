// The oracle: one element at a time, double accumulation, one thread. Slow on purpose.
#include "kernels/linear.h"
#include "kernels/weight_element.h"

namespace fathom::kernels {

void linear_ref(const LinearWeight& w, const float* x, int64_t num_rows, float* y) {
  const int64_t in = w.in_features, out = w.out_features;
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
  // out[input_column(j)] so that out is W's row in W's own column order.
  for (int64_t j = 0; j < w.in_features; ++j)
    out[detail::input_column(w, j)] = detail::weight_element(w, row, j);
}

}  // namespace fathom::kernels
