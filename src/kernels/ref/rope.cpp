#include <cmath>

#include "kernels/ops.h"

namespace fathom::kernels {

void apply_rope(const RopeTable& rope, const int32_t* positions, int64_t num_tokens,
                int64_t num_heads, int64_t stride, int64_t offset, float* x) {
  const int64_t half = static_cast<int64_t>(rope.inv_freq.size());
  std::vector<float> cos_v(half), sin_v(half);
  for (int64_t t = 0; t < num_tokens; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      // note: angle in float like the reference (positions x inv_freq in fp32).
      const float angle = static_cast<float>(positions[t]) * rope.inv_freq[i];
      cos_v[i] = std::cos(angle) * rope.attention_factor;
      sin_v[i] = std::sin(angle) * rope.attention_factor;
    }
    for (int64_t h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * stride + offset;
      for (int64_t i = 0; i < half; ++i) {
        float* a = rope.style == RopeStyle::kNeox ? &v[i] : &v[2 * i];
        float* b = rope.style == RopeStyle::kNeox ? &v[i + half] : &v[2 * i + 1];
        const float x0 = *a, x1 = *b;
        *a = x0 * cos_v[i] - x1 * sin_v[i];
        *b = x1 * cos_v[i] + x0 * sin_v[i];
      }
    }
  }
}

}  // namespace fathom::kernels
