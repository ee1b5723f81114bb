// POST /v1/responses: the Responses API, served as the chat request it maps onto (same
// template, tools, structured output and engine), answered as a Response object or its events.
#include "server/chat_plan.h"
#include "server/protocol/responses_request.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void responses(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  LoadedModel& m = *ctx.model();
  Result<protocol::ResponsesRequest> req = protocol::parse_responses_request(ex->request().body);
  if (!req.ok()) return reply_error(ctx, *ex, req.status());
  auto lora = resolve_model(ctx, req->chat.model);
  if (!lora.ok()) return reply_error(ctx, *ex, lora.status());
  Result<GenerationPlan> plan = plan_chat(ctx, m, std::move(req->chat));
  if (!plan.ok()) return reply_error(ctx, *ex, plan.status());
  plan->set_lora(std::move(*lora));
  plan->api = protocol::Api::kResponses;
  plan->responses_echo = std::move(req->echo);
  start_generation(ctx, m, std::move(ex), std::move(*plan));
}

}  // namespace fathom::server::routes
