// Turns one row of logits into a token: greedy at temperature 0, otherwise temperature,
// top-k, top-p and min-p filtering, then a draw from an injected, seeded generator.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "base/status.h"

namespace fathom::engine {

struct SamplingParams {
  float temperature = 0.0f;  ///< 0 = greedy (argmax)
  float top_p = 1.0f;        ///< (0, 1]
  int32_t top_k = 0;         ///< 0 = off
  float min_p = 0.0f;        ///< [0, 1]
  uint64_t seed = 0;
};

/// InvalidArgument naming the field when a parameter is out of range.
Status validate(const SamplingParams& p);

/// The distribution a non-greedy draw samples from: the tokens kept by top-k, min-p and top-p,
/// best first, with their probabilities renormalised over the kept set (they sum to 1).
struct TokenDistribution {
  std::vector<int32_t> ids;
  std::vector<double> probs;
  /// probs of `token`, 0 when it was filtered out.
  double prob(int32_t token) const;
};

/// logits: [vocab]; p.temperature must be > 0.
TokenDistribution sampling_distribution(const float* logits, int64_t vocab, const SamplingParams& p);

class Sampler {
 public:
  explicit Sampler(uint64_t seed) : rng_(seed) {}
  /// logits: [vocab]. Ties in greedy mode pick the lowest id.
  int32_t sample(const float* logits, int64_t vocab, const SamplingParams& p);
  /// A draw from `d` (whose probabilities may sum to less than 1: they are weights).
  int32_t sample(const TokenDistribution& d);
  /// A uniform draw in [0, 1) from the same generator.
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

 private:
  std::mt19937_64 rng_;
};

/// Index of the largest value (lowest index on ties).
int32_t argmax(const float* v, int64_t n);

}  // namespace fathom::engine
