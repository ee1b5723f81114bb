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
void load_lora_adapter(ServerContext& ctx,
                       std::shared_ptr<net::Exchange> ex);  // POST /v1/load_lora_adapter
void unload_lora_adapter(ServerContext& ctx,
                         std::shared_ptr<net::Exchange> ex);  // POST /v1/unload_lora_adapter

/// Ok when `requested` is empty, the served model id or a LoRA adapter's name; NotFound
/// (code model_not_found) otherwise.
Status check_model_name(const ServerContext& ctx, const std::string& requested);

/// The adapter a request's "model" selects: null for the base model (or no model given), the
/// adapter (read again from its folder if it was evicted) for an adapter's name. NotFound for
/// unknown names; ResourceExhausted when every adapter slot is in use.
Result<std::shared_ptr<const model::lora::LoraAdapter>> resolve_model(const ServerContext& ctx,
                                                                      const std::string& requested);

}  // namespace fathom::server::routes
