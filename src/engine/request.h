// What a client asks the engine for, and what the engine tells it back. Plain structs; the
// server turns HTTP/JSON into these and back (JSON never enters the engine).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/sampler.h"
#include "grammar/token_matcher.h"
#include "model/lora/lora_adapter.h"

namespace fathom::engine {

struct RequestParams {
  SamplingParams sampling;
  int64_t max_tokens = 16;
  std::vector<int32_t> stop_token_ids;  ///< besides the model's EOS ids
  bool ignore_eos = false;
  float presence_penalty = 0.0f;    ///< [-2, 2]
  float frequency_penalty = 0.0f;   ///< [-2, 2]
  float repetition_penalty = 1.0f;  ///< > 0; 1 = off (applies to prompt and output tokens)
  std::vector<std::pair<int32_t, float>> logit_bias;
  int32_t top_logprobs = -1;  ///< -1: no logprobs; 0..20: logprob of the token plus that many alternatives
  /// Structured output: only tokens the grammar allows are sampled, and the output ends (stop)
  /// when the grammar is complete. Null: unconstrained.
  std::shared_ptr<const grammar::TokenConstraint> constraint;
};

/// InvalidArgument naming the field (as the OpenAI API spells it) when out of range.
Status validate(const RequestParams& p, int64_t vocab_size);

struct EngineRequest {
  std::string request_id;
  std::vector<int32_t> prompt_ids;
  RequestParams params;
  /// The LoRA adapter to run with (null: the base model). Held until the request finishes,
  /// so unloading or evicting the adapter meanwhile does not affect it.
  std::shared_ptr<const model::lora::LoraAdapter> lora;
};

enum class FinishReason { kNone, kStop, kLength, kAbort, kError };
const char* finish_reason_name(FinishReason r);  ///< "stop", "length", "abort", "error"

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
};

struct GeneratedToken {
  int32_t token_id = 0;
  float logprob = 0.0f;                    ///< set when top_logprobs >= 0
  std::vector<TokenLogprob> top_logprobs;  ///< best first
};

/// One message from the engine to a request's owner. The last one has finish != kNone.
struct RequestUpdate {
  std::vector<GeneratedToken> tokens;  ///< new tokens since the previous update
  FinishReason finish = FinishReason::kNone;
  Status error;                        ///< set when finish == kError
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;       ///< total so far
  int64_t cached_prompt_tokens = 0;    ///< prompt tokens served from the prefix cache
};

/// Called on the engine thread: must be quick and must not call back into the engine
/// synchronously except Engine::cancel (which is safe).
using UpdateCallback = std::function<void(RequestUpdate)>;

}  // namespace fathom::engine
