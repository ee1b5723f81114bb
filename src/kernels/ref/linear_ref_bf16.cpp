// The oracle of the bf16 dot-product kernels: inputs rounded as the instructions round them,
// then double accumulation, one element at a time. Slow on purpose.
#include <cstring>
#include <vector>

#include "kernels/linear_bf16.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

// A bf16 value as vdpbf16ps reads it: denormals are zero.
double bf16_operand(uint16_t b) {
  if ((b & 0x7f80u) == 0) return (b & 0x8000u) ? -0.0 : 0.0;
  return bf16_to_f32(b);
}

}  // namespace

uint16_t bf16_round(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);  // DAZ
  return f32_to_bf16(f);
}

bool bf16_reduced_format(const LinearWeight& w) {
  return w.format == WeightFormat::kBF16 || w.format == WeightFormat::kF16;
}

void linear_ref_bf16(const LinearWeight& w, const float* x, int64_t num_rows, float* y) {
  const int64_t in = w.in_features, out = w.out_features;
  const auto* values = static_cast<const uint16_t*>(w.values);
  std::vector<double> xb(static_cast<size_t>(num_rows * in)), wr(static_cast<size_t>(in));
  for (int64_t k = 0; k < num_rows * in; ++k) xb[k] = bf16_operand(bf16_round(x[k]));
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t j = 0; j < in; ++j) {
      const uint16_t v = values[o * in + j];
      wr[j] = bf16_operand(w.format == WeightFormat::kBF16 ? v : bf16_round(f16_to_f32(v)));
    }
    for (int64_t r = 0; r < num_rows; ++r) {
      double acc = 0.0;
      for (int64_t j = 0; j < in; ++j) acc += xb[r * in + j] * wr[j];
      y[r * out + o] = static_cast<float>(acc);
    }
  }
}

}  // namespace fathom::kernels
