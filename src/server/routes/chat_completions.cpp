// POST /v1/chat/completions: parse, validate, plan (template, tokenize, output options), submit.
#include "server/chat_plan.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void chat_completions(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  LoadedModel& m = *ctx.model();
  Result<protocol::ChatRequest> req = protocol::parse_chat_request(ex->request().body);
  if (!req.ok()) return reply_error(ctx, *ex, req.status());
  auto lora = resolve_model(ctx, req->model);
  if (!lora.ok()) return reply_error(ctx, *ex, lora.status());
  Result<GenerationPlan> plan = plan_chat(ctx, m, std::move(*req));
  if (!plan.ok()) return reply_error(ctx, *ex, plan.status());
  plan->set_lora(std::move(*lora));
  start_generation(ctx, m, std::move(ex), std::move(*plan));
}

}  // namespace fathom::server::routes
