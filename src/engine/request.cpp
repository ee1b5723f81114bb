#include "engine/request.h"

#include <cmath>

namespace fathom::engine {

Status validate(const RequestParams& p, int64_t vocab_size) {
  FATHOM_RETURN_IF_ERROR(validate(p.sampling));
  if (p.max_tokens < 1) return invalid_argument("max_tokens must be at least 1, got " + std::to_string(p.max_tokens));
  auto in_range = [](float v, float lo, float hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  if (!in_range(p.presence_penalty, -2.0f, 2.0f))
    return invalid_argument("presence_penalty must be in [-2, 2], got " + std::to_string(p.presence_penalty));
  if (!in_range(p.frequency_penalty, -2.0f, 2.0f))
    return invalid_argument("frequency_penalty must be in [-2, 2], got " + std::to_string(p.frequency_penalty));
  if (!(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0.0f))
    return invalid_argument("repetition_penalty must be > 0, got " + std::to_string(p.repetition_penalty));
  for (const auto& [t, b] : p.logit_bias) {
    if (t < 0 || t >= vocab_size)
      return invalid_argument("logit_bias: token id " + std::to_string(t) + " is outside the vocabulary of " +
                              std::to_string(vocab_size));
    if (!in_range(b, -100.0f, 100.0f))
      return invalid_argument("logit_bias: bias for token " + std::to_string(t) + " must be in [-100, 100]");
  }
  for (int32_t t : p.stop_token_ids)
    if (t < 0 || t >= vocab_size)
      return invalid_argument("stop_token_ids: " + std::to_string(t) + " is outside the vocabulary");
  if (p.constraint &&
      (!p.constraint->grammar || !p.constraint->vocab || p.constraint->vocab->size() < vocab_size))
    return invalid_argument(
        "response_format: the constraint does not cover the model's vocabulary");
  if (p.top_logprobs > 20) return invalid_argument("top_logprobs must be at most 20, got " + std::to_string(p.top_logprobs));
  return ok_status();
}

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
  }
  return "none";
}

}  // namespace fathom::engine
