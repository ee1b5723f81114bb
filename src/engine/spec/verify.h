// Verification of one draft token against the target model's logits at its position.
// Greedy: the draft is accepted when it is the argmax; otherwise the argmax replaces it.
// Sampling: the standard rejection rule (Leviathan et al. 2023, Chen et al. 2023): accept draft
// x with probability min(1, p(x) / q(x)); on rejection draw from norm(max(0, p - q)). The
// emitted token is then distributed exactly as p, whatever the draft. A deterministic drafter
// (n-gram, greedy MTP) is a point mass: q(x) = 1, so x is kept with probability p(x) and a
// rejection draws from p without x.
#pragma once

#include <cstdint>

#include "engine/sampler.h"

namespace fathom::engine::spec {

struct DraftVerdict {
  int32_t token = 0;      ///< the token to emit at this position
  bool accepted = false;  ///< token == the draft; later drafts may still be checked
};

/// logits: [vocab], after the request's logits processors. `q`: the drafter's distribution at
/// this position, or null for a deterministic drafter.
DraftVerdict verify_draft(const float* logits, int64_t vocab, const SamplingParams& p,
                          int32_t draft, const TokenDistribution* q, Sampler& sampler);

}  // namespace fathom::engine::spec
