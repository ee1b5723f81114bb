#include "kernels/cpu/rope_cpu.h"

#include <algorithm>
#include <cmath>

namespace fathom::kernels::cpu {

void RopeAngles::apply(const RopeTable& rope, const int32_t* positions, int64_t n, int64_t heads,
                       int64_t stride, int64_t offset, float* x) {
  const int64_t half = static_cast<int64_t>(rope.inv_freq.size());
  if (inv_freq_ != rope.inv_freq || factor_ != rope.attention_factor ||
      positions_.size() != static_cast<size_t>(n) ||
      !std::equal(positions, positions + n, positions_.begin())) {
    inv_freq_ = rope.inv_freq;
    factor_ = rope.attention_factor;
    positions_.assign(positions, positions + n);
    cos_.resize(static_cast<size_t>(n * half));
    sin_.resize(static_cast<size_t>(n * half));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(positions[t]) * inv_freq_[static_cast<size_t>(i)];
        cos_[static_cast<size_t>(t * half + i)] = std::cos(angle) * factor_;
        sin_[static_cast<size_t>(t * half + i)] = std::sin(angle) * factor_;
      }
  }
  // The pairs rotated: (i, i + half) for kNeox, (2i, 2i + 1) for interleaved.
  const bool neox = rope.style == RopeStyle::kNeox;
  const int64_t step = neox ? 1 : 2, partner = neox ? half : 1;
  for (int64_t t = 0; t < n; ++t) {
    const float* c = cos_.data() + t * half;
    const float* s = sin_.data() + t * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * stride + offset;
      for (int64_t i = 0; i < half; ++i) {
        float* a = v + i * step;
        const float x0 = a[0], x1 = a[partner];
        a[0] = x0 * c[i] - x1 * s[i];
        a[partner] = x1 * c[i] + x0 * s[i];
      }
    }
  }
}

}  // namespace fathom::kernels::cpu
