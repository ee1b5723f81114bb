// Tools on the way in: the grammar that enforces tool_choice "required" or a named function
// (vLLM's way: the output is JSON — a named call's arguments, or a list of
// {"name", "parameters"} objects — constrained by the tools' own parameter schemas), and the
// system-prompt text that shows the tools to a model whose chat template ignores them.
#pragma once

#include <string>

#include "server/protocol/chat_request.h"
#include "server/protocol/structured_output.h"

namespace fathom::server::protocol {

/// The grammar a forced tool_choice puts on the output; null for "auto" and "none".
/// Errors name the tool's parameters field ("tools[1].function.parameters...").
Result<GrammarPtr> forced_tool_grammar(const ChatRequest& r);

/// The tools as a system-prompt section: each function's name, description and parameter
/// schema, then how to call them in DeepSeek's tool-call markup (what the output parser reads).
std::string tools_system_prompt(const Json& tools, bool parallel_tool_calls);

/// `messages` with `text` added to the system prompt (after the first system message's
/// content, or as a new first system message).
Json with_system_text(const Json& messages, const std::string& text);

}  // namespace fathom::server::protocol
