// One function per route, each in its own file. All run on the connection's strand and
// answer through the exchange; none blocks on the engine.
#pragma once

#include <memory>

#include "net/exchange.h"
#include "server/server_context.h"

namespace fathom::server::routes {

using Handler = void (*)(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);

void chat_completions(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);  // POST /v1/chat/completions
void completions(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);       // POST /v1/completions
void responses(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);         // POST /v1/responses
void models(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);            // GET /v1/models
void model(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);             // GET /v1/models/{id}
void tokenize(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);          // POST /tokenize
void detokenize(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);        // POST /detokenize
void health(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);            // GET /health
void metrics(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);           // GET /metrics
void console(ServerContext& ctx, std::shared_ptr<net::Exchange> ex);  // GET / and /assets/*

/// Ok when `requested` is empty or the served model id; NotFound naming both otherwise.
Status check_model_name(const ServerContext& ctx, const std::string& requested);

}  // namespace fathom::server::routes
