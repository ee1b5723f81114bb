// Turns one row of logits into a token: greedy at temperature 0, otherwise temperature,
// top-k, top-p and min-p filtering, then a draw from an injected, seeded generator.
#pragma once

#include <cstdint>
#include <random>

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

class Sampler {
 public:
  explicit Sampler(uint64_t seed) : rng_(seed) {}
  /// logits: [vocab]. Ties in greedy mode pick the lowest id.
  int32_t sample(const float* logits, int64_t vocab, const SamplingParams& p);

 private:
  std::mt19937_64 rng_;
};

/// Index of the largest value (lowest index on ties).
int32_t argmax(const float* v, int64_t n);

}  // namespace fathom::engine
