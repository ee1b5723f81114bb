// Answering an exchange from a route, with the HTTP status counted for /metrics.
#pragma once

#include <memory>

#include "base/status.h"
#include "net/exchange.h"
#include "server/protocol/json_fields.h"
#include "server/server_context.h"

namespace fathom::server {

void reply(ServerContext& ctx, net::Exchange& ex, net::HttpResponse response);
void reply_json(ServerContext& ctx, net::Exchange& ex, const protocol::Json& body, int status = 200);
void reply_error(ServerContext& ctx, net::Exchange& ex, const Status& status);

}  // namespace fathom::server
