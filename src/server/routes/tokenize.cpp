// POST /tokenize (vLLM's API): {"prompt": text} or {"messages": [...]} -> token ids.
#include "server/chat_plan.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void tokenize(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  LoadedModel& m = *ctx.model();
  Result<protocol::Json> body = protocol::parse_json_object(ex->request().body);
  if (!body.ok()) return reply_error(ctx, *ex, body.status());
  Result<std::optional<std::string>> model = protocol::get_string(*body, "model");
  if (!model.ok()) return reply_error(ctx, *ex, model.status());
  if (Status s = check_model_name(ctx, model->value_or("")); !s.ok()) return reply_error(ctx, *ex, s);
  Result<std::optional<bool>> add_special = protocol::get_bool(*body, "add_special_tokens");
  if (!add_special.ok()) return reply_error(ctx, *ex, add_special.status());

  std::string text;
  bool add_special_tokens = add_special->value_or(true);
  if (body->contains("messages")) {
    Result<protocol::ChatRequest> chat = protocol::parse_chat_request(ex->request().body);
    if (!chat.ok()) return reply_error(ctx, *ex, chat.status());
    if (!m.chat_template) return reply_error(ctx, *ex, invalid_argument("messages: this model has no chat template"));
    Result<std::string> rendered = render_chat_prompt(*m.chat_template, *chat);
    if (!rendered.ok()) return reply_error(ctx, *ex, invalid_argument("messages: " + rendered.status().message()));
    text = std::move(*rendered);
    add_special_tokens = add_special->value_or(false);
  } else {
    Result<std::optional<std::string>> prompt = protocol::get_string(*body, "prompt");
    if (!prompt.ok()) return reply_error(ctx, *ex, prompt.status());
    if (!*prompt) return reply_error(ctx, *ex, invalid_argument("prompt is required (or messages)"));
    text = std::move(**prompt);
  }
  Result<std::vector<int32_t>> ids = m.tokenizer->encode(text, add_special_tokens);
  if (!ids.ok()) return reply_error(ctx, *ex, invalid_argument("prompt: " + ids.status().message()));
  reply_json(ctx, *ex,
             {{"count", static_cast<int64_t>(ids->size())},
              {"max_model_len", m.engine->max_model_len()},
              {"tokens", *ids}});
}

}  // namespace fathom::server::routes
