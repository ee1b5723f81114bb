// JSON pieces shared by the chat and completions responses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/request.h"
#include "server/protocol/json_fields.h"
#include "tokenizer/tool_call_parser.h"
#include "tokenizer/tokenizer.h"

namespace fathom::server::protocol {

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
};

/// {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {"cached_tokens"}}
Json usage_json(const Usage& u);

/// Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}, ...]}.
Json chat_logprobs_json(const tokenizer::Tokenizer& tok, const std::vector<engine::GeneratedToken>& tokens);

/// Completions logprobs: {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}.
/// `text_offset` is where the first token's text starts in the choice's text.
Json completion_logprobs_json(const tokenizer::Tokenizer& tok, const std::vector<engine::GeneratedToken>& tokens,
                              int64_t text_offset);

/// Whole calls: [{"id", "type": "function", "function": {"name", "arguments"}}].
Json tool_calls_json(const std::vector<tokenizer::ToolCall>& calls);
/// Streaming pieces: [{"index", "id", "type", "function": {"name", "arguments"}}], where id, type
/// and name come only with a call's first piece.
Json tool_call_deltas_json(const std::vector<tokenizer::ToolCallDelta>& deltas);

}  // namespace fathom::server::protocol
