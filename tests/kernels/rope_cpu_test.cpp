// kernels/cpu/rope_cpu.h against kernels::apply_rope: both styles, the angles reused while the
// positions and the table stay, recomputed when either changes.
#include "kernels/cpu/rope_cpu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace fathom::kernels::cpu {
namespace {

RopeTable table(int64_t half, float base, float factor, RopeStyle style) {
  RopeTable r;
  for (int64_t i = 0; i < half; ++i)
    r.inv_freq.push_back(std::pow(base, -2.0f * static_cast<float>(i) / (2.0f * half)));
  r.attention_factor = factor;
  r.style = style;
  return r;
}

TEST(RopeCpuTest, MatchesTheReferenceAcrossCallsAndChanges) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  const int64_t heads = 3, stride = 80, offset = 8, half = 32;
  RopeAngles angles;
  struct Call {
    RopeTable rope;
    std::vector<int32_t> positions;
  };
  const RopeTable neox = table(half, 10000.0f, 1.0f, RopeStyle::kNeox);
  const RopeTable yarn = table(half, 10000.0f, 1.2f, RopeStyle::kNeox);
  const RopeTable inter = table(half, 500000.0f, 1.0f, RopeStyle::kInterleaved);
  // Same positions twice (reused), new positions, a new factor, a new style and frequencies,
  // fewer tokens, then the first call again.
  const std::vector<Call> calls = {
      {neox, {0, 1, 2, 3}},  {neox, {0, 1, 2, 3}}, {neox, {4, 5, 6, 7}}, {yarn, {4, 5, 6, 7}},
      {inter, {4, 5, 6, 7}}, {inter, {100000}},    {neox, {0, 1, 2, 3}}};
  for (size_t k = 0; k < calls.size(); ++k) {
    const Call& c = calls[k];
    const auto n = static_cast<int64_t>(c.positions.size());
    std::vector<float> x(static_cast<size_t>(n * heads * stride));
    for (float& v : x) v = u(rng);
    std::vector<float> want = x;
    apply_rope(c.rope, c.positions.data(), n, heads, stride, offset, want.data());
    angles.apply(c.rope, c.positions.data(), n, heads, stride, offset, x.data());
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(x[i], want[i], 1e-6f * (std::fabs(want[i]) + 4.0f))
          << "call " << k << " [" << i << "]";
  }
}

}  // namespace
}  // namespace fathom::kernels::cpu
