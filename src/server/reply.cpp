#include "server/reply.h"

#include "server/error_mapping.h"

namespace fathom::server {

void reply(ServerContext& ctx, net::Exchange& ex, net::HttpResponse response) {
  ctx.metrics().count_http_status(response.status);
  ex.send(std::move(response));
}

void reply_json(ServerContext& ctx, net::Exchange& ex, const protocol::Json& body, int status) {
  net::HttpResponse r;
  r.status = status;
  r.body = protocol::dump(body);
  reply(ctx, ex, std::move(r));
}

void reply_error(ServerContext& ctx, net::Exchange& ex, const Status& status) {
  reply(ctx, ex, error_response(status));
}

}  // namespace fathom::server
