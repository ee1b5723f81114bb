#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace fathom::engine {

Status validate(const SamplingParams& p) {
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
    return invalid_argument("temperature must be >= 0, got " + std::to_string(p.temperature));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    return invalid_argument("top_p must be in (0, 1], got " + std::to_string(p.top_p));
  if (p.top_k < 0) return invalid_argument("top_k must be >= 0, got " + std::to_string(p.top_k));
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
    return invalid_argument("min_p must be in [0, 1], got " + std::to_string(p.min_p));
  return ok_status();
}

int32_t argmax(const float* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return static_cast<int32_t>(best);
}

double TokenDistribution::prob(int32_t token) const {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == token) return probs[i];
  return 0.0;
}

TokenDistribution sampling_distribution(const float* logits, int64_t vocab, const SamplingParams& p) {
  // Candidates sorted by logit, best first.
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0);
  int64_t keep = vocab;
  if (p.top_k > 0) keep = std::min<int64_t>(keep, p.top_k);
  std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  idx.resize(static_cast<size_t>(keep));

  std::vector<double> prob(idx.size());
  const double mx = logits[idx[0]];
  double sum = 0.0;
  for (size_t i = 0; i < idx.size(); ++i)
    sum += prob[i] = std::exp((logits[idx[i]] - mx) / p.temperature);
  for (double& q : prob) q /= sum;

  size_t n = prob.size();
  if (p.min_p > 0.0f) {  // drop tokens below min_p x the best probability
    const double floor = p.min_p * prob[0];
    while (n > 1 && prob[n - 1] < floor) --n;
  }
  if (p.top_p < 1.0f) {  // smallest prefix whose mass reaches top_p
    double cum = 0.0;
    for (size_t i = 0; i < n; ++i) {
      cum += prob[i];
      if (cum >= p.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  double mass = 0.0;
  for (size_t i = 0; i < n; ++i) mass += prob[i];
  TokenDistribution d;
  d.ids.assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n));
  d.probs.resize(n);
  for (size_t i = 0; i < n; ++i) d.probs[i] = prob[i] / mass;
  return d;
}

int32_t Sampler::sample(const float* logits, int64_t vocab, const SamplingParams& p) {
  if (p.temperature == 0.0f) return argmax(logits, vocab);
  return sample(sampling_distribution(logits, vocab, p));
}

int32_t Sampler::sample(const TokenDistribution& d) {
  double mass = 0.0;
  for (double q : d.probs) mass += q;
  const double u = std::uniform_real_distribution<double>(0.0, mass)(rng_);
  double cum = 0.0;
  for (size_t i = 0; i < d.probs.size(); ++i) {
    cum += d.probs[i];
    if (u < cum) return d.ids[i];
  }
  return d.ids.back();
}

}  // namespace fathom::engine
