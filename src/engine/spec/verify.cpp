#include "engine/spec/verify.h"

#include <algorithm>

namespace fathom::engine::spec {

DraftVerdict verify_draft(const float* logits, int64_t vocab, const SamplingParams& p,
                          int32_t draft, const TokenDistribution* q, Sampler& sampler) {
  if (p.temperature == 0.0f) {
    const int32_t best = argmax(logits, vocab);
    return {best, best == draft};
  }
  const TokenDistribution target = sampling_distribution(logits, vocab, p);
  const double px = target.prob(draft);
  const double qx = q ? q->prob(draft) : 1.0;
  // qx == 0: the drafter could not have drawn x; keep it when the target can (ratio +inf).
  const double accept = qx > 0.0 ? std::min(1.0, px / qx) : (px > 0.0 ? 1.0 : 0.0);
  if (sampler.uniform() < accept) return {draft, true};

  // Residual norm(max(0, p - q)) over the target's support (q outside it cannot exceed p > 0
  // there, and p is 0 elsewhere).
  TokenDistribution residual = target;
  double mass = 0.0;
  for (size_t i = 0; i < residual.ids.size(); ++i) {
    const double qi = q ? q->prob(residual.ids[i]) : (residual.ids[i] == draft ? 1.0 : 0.0);
    residual.probs[i] = std::max(0.0, residual.probs[i] - qi);
    mass += residual.probs[i];
  }
  // p <= q everywhere means p == q: the draft was accepted with probability 1 (not reached
  // but for rounding); fall back to p.
  if (!(mass > 0.0)) return {sampler.sample(target), false};
  return {sampler.sample(residual), false};
}

}  // namespace fathom::engine::spec
