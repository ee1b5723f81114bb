#include "kernels/quantize_activations.h"

#include <algorithm>
#include <cmath>

#include "kernels/ggml_int.h"
#include "tensor/ggml_type.h"

namespace fathom::kernels {

bool int_dot_applies(const LinearWeight& w) {
  if (w.format == WeightFormat::kInt8Channel) return true;
  if (w.format == WeightFormat::kGgml) return ggml_int_type(w.ggml_type);
  return w.format == WeightFormat::kInt4Grouped && w.group_idx == nullptr && w.group_size > 0 &&
         w.group_size % 32 == 0 && w.group_size <= 65536;
}

ActivationBlocks activation_blocks(const LinearWeight& w) {
  ActivationBlocks b;
  b.block = w.format == WeightFormat::kInt4Grouped ? w.group_size
            : w.format == WeightFormat::kGgml      ? ggml_block_elements(w.ggml_type)
                                                   : kInt8ActivationBlock;
  b.span = w.in_features & ~int64_t{31};
  b.count = (b.span + b.block - 1) / b.block;
  return b;
}

bool quantize_activation_block(const float* x, int64_t n, ActivationPrecision act, int32_t* codes,
                               float* scale) {
  float amax = 0.0f;
  bool finite = true;
  for (int64_t j = 0; j < n; ++j) {
    const float a = std::fabs(x[j]);
    amax = std::max(amax, a);
    finite = finite && std::isfinite(a);
  }
  if (!finite) return false;
  const double max_code = act == ActivationPrecision::kExact ? kExactMaxCode : kReducedMaxCode;
  *scale = static_cast<float>(amax / max_code);
  const double inv = amax > 0.0f ? max_code / amax : 0.0;
  for (int64_t j = 0; j < n; ++j) codes[j] = static_cast<int32_t>(std::lrint(x[j] * inv));
  return true;
}

}  // namespace fathom::kernels
