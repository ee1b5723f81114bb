// Per-request logit adjustments before sampling (repetition / presence / frequency penalties,
// logit_bias) and the log-probabilities reported back to clients.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/request.h"
#include "grammar/token_matcher.h"

namespace fathom::engine {

/// Adjusts logits[vocab] in place. `tokens` is prompt + generated; the first
/// `num_prompt_tokens` are the prompt (presence/frequency count generated tokens only, the
/// repetition penalty counts both, as vLLM does).
void apply_penalties(const RequestParams& p, const std::vector<int32_t>& tokens,
                     int64_t num_prompt_tokens, float* logits, int64_t vocab);

/// Masks logits[vocab] to the tokens the grammar allows next; false when it allows none.
bool apply_constraint(grammar::TokenMatcher& m, float* logits, int64_t vocab);

/// What a masked-out (-inf) token reports as its logprob: OpenAI's convention, and JSON has no
/// -inf.
inline constexpr float kMinLogprob = -9999.0f;

/// log_softmax(logits)[token] and, when top_n > 0, the top_n best tokens (best first).
GeneratedToken make_logprobs(const float* logits, int64_t vocab, int32_t token, int32_t top_n);

}  // namespace fathom::engine
