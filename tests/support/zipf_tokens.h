// A Zipf-like token stream for the quantization tests: rank r (ids 2..511) drawn with weight
// 1/(r+1), so calibration and evaluation text come from one distribution under two seeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace fathom::testing {

inline std::vector<int32_t> zipf_tokens(uint32_t seed, size_t n) {
  std::vector<double> weights(510);
  for (size_t r = 0; r < weights.size(); ++r) weights[r] = 1.0 / static_cast<double>(r + 1);
  std::discrete_distribution<int32_t> d(weights.begin(), weights.end());
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = 2 + d(rng);
  return t;
}

}  // namespace fathom::testing
