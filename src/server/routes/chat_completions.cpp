// POST /v1/chat/completions: parse, validate, render the chat template, tokenize, submit.
#include "server/generation_job.h"
#include "server/protocol/chat_request.h"
#include "server/reply.h"
#include "server/routes/routes.h"
#include "tokenizer/reasoning_parser.h"

namespace fathom::server::routes {

void chat_completions(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  LoadedModel& m = *ctx.model();
  Result<protocol::ChatRequest> req = protocol::parse_chat_request(ex->request().body);
  if (!req.ok()) return reply_error(ctx, *ex, req.status());
  if (Status s = check_model_name(ctx, req->model); !s.ok()) return reply_error(ctx, *ex, s);
  if (!m.chat_template)
    return reply_error(ctx, *ex, invalid_argument("messages cannot be rendered: this model has no chat template; "
                                                  "use /v1/completions with a prompt"));

  tokenizer::ChatRenderOptions render;
  render.add_generation_prompt = req->add_generation_prompt;
  render.extra_kwargs = req->chat_template_kwargs;
  Result<std::string> text = tokenizer::render_chat(*m.chat_template, req->messages, req->tools, render);
  if (!text.ok()) return reply_error(ctx, *ex, invalid_argument("messages: " + text.status().message()));
  // The template writes BOS itself; adding special tokens again would double it.
  Result<std::vector<int32_t>> ids = m.tokenizer->encode(*text, /*add_special_tokens=*/false);
  if (!ids.ok()) return reply_error(ctx, *ex, invalid_argument("messages: " + ids.status().message()));

  GenerationPlan plan;
  plan.api = protocol::Api::kChat;
  plan.model = ctx.options().model_id;
  plan.options = std::move(req->options);
  plan.output.stop = plan.options.stop;
  plan.output.include_stop_str_in_output = plan.options.include_stop_str_in_output;
  plan.output.skip_special_tokens = plan.options.skip_special_tokens;
  plan.output.parse_reasoning = ctx.options().reasoning_parser;
  plan.output.reasoning_starts_open = plan.output.parse_reasoning && tokenizer::prompt_opens_reasoning(*text);
  plan.output.parse_tool_calls = ctx.options().tool_call_parser && !req->tools.is_null() && req->tool_choice != "none";
  plan.prompts.push_back(std::move(*ids));
  start_generation(ctx, m, std::move(ex), std::move(plan));
}

}  // namespace fathom::server::routes
