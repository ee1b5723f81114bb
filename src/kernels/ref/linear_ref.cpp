// The oracle: one element at a time, double accumulation, one thread. Slow on purpose.
#include <algorithm>
#include <vector>

#include "kernels/ggml_blocks.h"
#include "kernels/ggml_int.h"
#include "kernels/linear.h"
#include "kernels/quantize_activations.h"
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

namespace {

// linear_ref_reduced for GGML blocks (ggml_int.h): x quantized per weight block; per block the
// exact sums of code x scale x q and code x min, then d and dmin times the block's x scale.
void linear_ref_reduced_ggml(const LinearWeight& w, const float* x, int64_t num_rows, float* y) {
  const int64_t in = w.in_features, out = w.out_features;
  const int64_t block = ggml_block_elements(w.ggml_type), nb = in / block;
  const int64_t row_bytes = ggml_row_bytes(w.ggml_type, in);
  std::vector<int32_t> codes(static_cast<size_t>(num_rows * in));
  std::vector<float> scales(static_cast<size_t>(num_rows * nb));
  std::vector<bool> finite(static_cast<size_t>(num_rows), true);
  for (int64_t r = 0; r < num_rows; ++r)
    for (int64_t b = 0; b < nb && finite[r]; ++b)
      finite[r] =
          quantize_activation_block(x + r * in + b * block, block, ActivationPrecision::kReduced,
                                    codes.data() + r * in + b * block, &scales[r * nb + b]);
  std::vector<double> acc(static_cast<size_t>(num_rows));
  GgmlIntBlock ib;
  for (int64_t o = 0; o < out; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t b = 0; b < nb; ++b) {
      ggml_int_block(
          w.ggml_type,
          static_cast<const uint8_t*>(w.values) + o * row_bytes + b * ggml_block_bytes(w.ggml_type),
          &ib);
      for (int64_t r = 0; r < num_rows; ++r) {
        const int32_t* c = codes.data() + r * in + b * block;
        int64_t dot = 0, dot_min = 0;  // exact
        for (int64_t j = 0; j < block; ++j) {
          dot += int64_t{c[j]} * ib.scale[j] * ib.q[j];
          dot_min += int64_t{c[j]} * ib.min[j];
        }
        acc[r] += double{scales[r * nb + b]} * (double{ib.d} * static_cast<double>(dot) -
                                                double{ib.dmin} * static_cast<double>(dot_min));
      }
    }
    for (int64_t r = 0; r < num_rows; ++r) y[r * out + o] = static_cast<float>(acc[r]);
  }
  for (int64_t r = 0; r < num_rows; ++r)  // the kernels hand NaN and infinity to the fp32 path
    if (!finite[r]) linear_ref(w, x + r * in, 1, y + r * out);
}

}  // namespace

void linear_ref_reduced(const LinearWeight& w, const float* x, int64_t num_rows, float* y) {
  if (!int_dot_applies(w)) return linear_ref(w, x, num_rows, y);
  if (w.format == WeightFormat::kGgml) return linear_ref_reduced_ggml(w, x, num_rows, y);
  const int64_t in = w.in_features, out = w.out_features;
  const bool int4 = w.format == WeightFormat::kInt4Grouped;
  const ActivationBlocks ab = activation_blocks(w);
  std::vector<float> xs(static_cast<size_t>(in));  // a row of x in stored column order
  std::vector<int32_t> codes(static_cast<size_t>(ab.span));
  std::vector<float> scales(static_cast<size_t>(ab.count));
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t j = 0; j < in; ++j) xs[j] = x[r * in + detail::input_column(w, j)];
    bool finite = true;
    for (int64_t b = 0; b < ab.count; ++b) {
      const int64_t j0 = b * ab.block;
      finite = finite && quantize_activation_block(xs.data() + j0, std::min(ab.block, ab.span - j0),
                                                   ActivationPrecision::kReduced, codes.data() + j0,
                                                   &scales[b]);
    }
    if (!finite) {  // the kernels hand NaN and infinity to the fp32 path
      linear_ref(w, x + r * in, 1, y + r * out);
      continue;
    }
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0.0;
      for (int64_t b = 0; b < ab.count; ++b) {
        int64_t dot = 0;  // exact: sum of int8 code x weight code
        for (int64_t j = b * ab.block, j1 = std::min(j + ab.block, ab.span); j < j1; ++j) {
          int64_t q;
          if (int4) {
            const uint8_t byte = w.q4[o * ((in + 1) / 2) + j / 2];
            q = ((j & 1) ? byte >> 4 : byte & 0xf) - int64_t{w.group_zero[o * w.num_groups + b]};
          } else {
            q = w.q8[o * in + j];
          }
          dot += codes[j] * q;
        }
        const double ws = int4 ? w.group_scale[o * w.num_groups + b] : w.channel_scale[o];
        acc += ws * scales[b] * static_cast<double>(dot);
      }
      for (int64_t j = ab.span; j < in; ++j) acc += double{xs[j]} * detail::weight_element(w, o, j);
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
