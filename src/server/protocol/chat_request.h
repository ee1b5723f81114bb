// POST /v1/chat/completions request: messages (system, developer, user, assistant, tool),
// tools and tool_choice, template options, plus the shared generation options.
#pragma once

#include <string>

#include "server/protocol/generation_options.h"

namespace fathom::server::protocol {

struct ChatRequest {
  std::string model;  ///< "" when not given
  /// Validated; every content is a string (text parts joined) or null (assistant with tool_calls).
  Json messages;
  Json tools = nullptr;  ///< null or a list of {"type": "function", "function": {...}}
  std::string tool_choice = "auto";  ///< "none", "auto", "required" or "function"
  std::string tool_choice_name;      ///< set when tool_choice is "function"
  bool parallel_tool_calls = true;   ///< false: at most one call per answer
  bool add_generation_prompt = true;
  Json chat_template_kwargs = nullptr;  ///< object or null
  GenerationOptions options;
};

Result<ChatRequest> parse_chat_request(std::string_view body);

/// The "tools" and "tool_choice" members of `body` (chat form) into `r`.
Status parse_tools(const Json& body, ChatRequest& r);

}  // namespace fathom::server::protocol
