// The generation parameters chat and completions requests share: what the engine gets
// (engine::RequestParams) and what the server does itself (stop strings, n, streaming,
// logprobs rendering).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/request.h"
#include "grammar/grammar.h"
#include "server/protocol/json_fields.h"

namespace fathom::server::protocol {

/// kResponses reads its options as kChat does (ResponsesRequest maps them) and answers in the
/// Responses API's form.
enum class Api { kChat, kCompletions, kResponses };

struct GenerationOptions {
  engine::RequestParams params;
  bool max_tokens_set = false;  ///< false: up to the context limit
  bool seed_set = false;
  std::vector<std::string> stop;  ///< stop strings, matched across token boundaries
  bool include_stop_str_in_output = false;
  int32_t n = 1;
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool skip_special_tokens = true;
  /// Structured output (response_format, guided_*): null for free text.
  std::shared_ptr<const grammar::Grammar> grammar;
};

inline constexpr int32_t kMaxN = 64;
inline constexpr size_t kMaxStopStrings = 16;

/// Reads and range-checks the shared fields of `body` (an object). Messages name the field.
Result<GenerationOptions> parse_generation_options(const Json& body, Api api);

}  // namespace fathom::server::protocol
