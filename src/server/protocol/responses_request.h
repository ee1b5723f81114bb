// POST /v1/responses request (the Responses API), read into the chat request it is served as:
// `instructions` and `input` (a string, or message / function_call / function_call_output
// items) become messages; function tools (flat: {type, name, description, parameters})
// become chat tools; max_output_tokens, text.format, tool_choice and parallel_tool_calls map
// onto their chat counterparts. What this server cannot honour (stored responses, hosted
// tools, background runs) is a 400 naming the field. Errors name the Responses fields.
#pragma once

#include "server/protocol/chat_request.h"

namespace fathom::server::protocol {

struct ResponsesRequest {
  ChatRequest chat;
  /// The request's own settings, echoed in the Response object (instructions, tools,
  /// tool_choice, text, temperature, top_p, max_output_tokens, metadata, user, ...).
  Json echo = Json::object();
};

Result<ResponsesRequest> parse_responses_request(std::string_view body);

}  // namespace fathom::server::protocol
