// Request dispatch: path and method to route, API key check, "model still loading" gate.
#pragma once

#include "net/http_server.h"
#include "server/server_context.h"

namespace fathom::server {

/// The handler the HTTP server calls for every request.
net::RequestHandler make_router(ServerContext& ctx);

}  // namespace fathom::server
