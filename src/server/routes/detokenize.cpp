// POST /detokenize (vLLM's API): {"tokens": [ids]} -> {"prompt": text}.
#include "server/protocol/completion_request.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void detokenize(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  LoadedModel& m = *ctx.model();
  Result<protocol::Json> body = protocol::parse_json_object(ex->request().body);
  if (!body.ok()) return reply_error(ctx, *ex, body.status());
  Result<std::optional<std::string>> model = protocol::get_string(*body, "model");
  if (!model.ok()) return reply_error(ctx, *ex, model.status());
  if (Status s = check_model_name(ctx, model->value_or("")); !s.ok()) return reply_error(ctx, *ex, s);
  auto it = body->find("tokens");
  if (it == body->end() || it->is_null()) return reply_error(ctx, *ex, invalid_argument("tokens is required"));
  Result<std::vector<int32_t>> ids = protocol::parse_token_ids(*it, "tokens");
  if (!ids.ok()) return reply_error(ctx, *ex, ids.status());
  for (int32_t id : *ids)
    if (id >= m.tokenizer->vocab_size())
      return reply_error(ctx, *ex, invalid_argument("tokens: " + std::to_string(id) + " is outside the vocabulary of " +
                                                    std::to_string(m.tokenizer->vocab_size())));
  reply_json(ctx, *ex, {{"prompt", m.tokenizer->decode(*ids, false)}});
}

}  // namespace fathom::server::routes
