// POST /v1/completions request: the prompt as text, token ids, or a list of either.
#pragma once

#include <string>
#include <vector>

#include "server/protocol/generation_options.h"

namespace fathom::server::protocol {

struct PromptInput {
  bool is_ids = false;
  std::string text;
  std::vector<int32_t> ids;
};

struct CompletionRequest {
  std::string model;
  std::vector<PromptInput> prompts;  ///< one choice group per prompt (n choices each)
  bool echo = false;
  GenerationOptions options;
};

inline constexpr size_t kMaxPrompts = 64;

Result<CompletionRequest> parse_completion_request(std::string_view body);

/// A list of token ids (tokenize/detokenize and completions): each an integer in [0, 2^31).
Result<std::vector<int32_t>> parse_token_ids(const Json& value, const std::string& name);

}  // namespace fathom::server::protocol
