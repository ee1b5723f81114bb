// Rotary embedding for the CPU backend: kernels::apply_rope's arithmetic with its cos and sin
// kept between calls. Every layer of a forward pass rotates q and k by the same positions, so
// the reference's std::cos and std::sin per (token, frequency) ran twice per layer (3 % of a
// 32-stream decode step of the 1.5B model, docs/benchmarks.md); here once per forward pass.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ops.h"

namespace fathom::kernels::cpu {

class RopeAngles {
 public:
  /// kernels::apply_rope(rope, positions, n, heads, stride, offset, x), the same values.
  /// Recomputes the angles when the positions or the table differ from the last call's.
  /// Not thread-safe: one per backend, whose forward passes run one at a time.
  void apply(const RopeTable& rope, const int32_t* positions, int64_t n, int64_t heads,
             int64_t stride, int64_t offset, float* x);

 private:
  std::vector<float> inv_freq_;
  float factor_ = 0.0f;
  std::vector<int32_t> positions_;
  std::vector<float> cos_, sin_;  ///< [positions_.size()][inv_freq_.size()]
};

}  // namespace fathom::kernels::cpu
