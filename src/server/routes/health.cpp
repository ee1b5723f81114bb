// GET /health: 200 when serving; 503 while the model loads or the server drains.
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server::routes {

void health(ServerContext& ctx, std::shared_ptr<net::Exchange> ex) {
  if (ctx.draining()) return reply_error(ctx, *ex, unavailable("the server is draining"));
  if (!ctx.model()) return reply_error(ctx, *ex, unavailable("the model is loading"));
  net::HttpResponse r;
  r.content_type = "application/json";
  r.body = "{\"status\":\"ok\"}";
  reply(ctx, *ex, std::move(r));
}

}  // namespace fathom::server::routes
