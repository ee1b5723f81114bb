// A parsed chat request turned into a generation plan, for /v1/chat/completions and
// /v1/responses alike: the chat template rendered (with the tools shown to the model even when
// its template ignores them), tokenized, and the output options (R1 reasoning split, DeepSeek
// tool-call parsing, or a forced tool_choice's grammar and JSON calls).
#pragma once

#include "server/generation_job.h"
#include "server/protocol/chat_request.h"

namespace fathom::server {

/// The prompt text of a chat request (also what POST /tokenize counts). Tools reach the model
/// through its template; one that renders the same text with and without them gets them in the
/// system prompt instead. tool_choice "none" hides them.
Result<std::string> render_chat_prompt(const tokenizer::ChatTemplate& tmpl,
                                       const protocol::ChatRequest& req);

Result<GenerationPlan> plan_chat(const ServerContext& ctx, const LoadedModel& m,
                                 protocol::ChatRequest req);

}  // namespace fathom::server
