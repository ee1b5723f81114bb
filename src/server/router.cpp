#include "server/router.h"

#include <array>
#include <string_view>

#include "server/api_key.h"
#include "server/error_mapping.h"
#include "server/reply.h"
#include "server/routes/routes.h"

namespace fathom::server {
namespace {

struct RouteRow {
  std::string_view method;
  std::string_view path;
  routes::Handler handler;
  bool needs_key;    // /v1/* and the tokenizer routes; probes and metrics stay open
  bool needs_model;  // answered 503 while loading
};

// A path ending in '*' matches every path with that prefix (/v1/models/{id}).
bool path_matches(std::string_view pattern, std::string_view path) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return path.size() > pattern.size() && path.substr(0, pattern.size()) == pattern;
  }
  return pattern == path;
}

constexpr std::array<RouteRow, 15> kRoutes = {{
    {"POST", "/v1/chat/completions", &routes::chat_completions, true, true},
    {"POST", "/v1/completions", &routes::completions, true, true},
    {"POST", "/v1/responses", &routes::responses, true, true},
    {"GET", "/v1/models", &routes::models, true, false},
    {"GET", "/v1/models/*", &routes::model, true, false},
    {"POST", "/tokenize", &routes::tokenize, true, true},
    {"POST", "/detokenize", &routes::detokenize, true, true},
    {"GET", "/health", &routes::health, false, false},
    {"GET", "/metrics", &routes::metrics, false, false},
    {"HEAD", "/health", &routes::health, false, false},
    {"GET", "/v1/health", &routes::health, false, false},
    {"GET", "/", &routes::console, false, false},  // the chat playground (docs/console.md)
    {"GET", "/assets/*", &routes::console, false, false},
    {"POST", "/v1/load_lora_adapter", &routes::load_lora_adapter, true, true},
    {"POST", "/v1/unload_lora_adapter", &routes::unload_lora_adapter, true, true},
}};

}  // namespace

net::RequestHandler make_router(ServerContext& ctx) {
  return [&ctx](std::shared_ptr<net::Exchange> ex) {
    const net::HttpRequest& req = ex->request();
    const RouteRow* found = nullptr;
    bool path_known = false;
    for (const RouteRow& r : kRoutes) {
      if (!path_matches(r.path, req.path)) continue;
      path_known = true;
      if (r.method == req.method) found = &r;
    }
    if (!found) {
      if (path_known) return reply(ctx, *ex, http_error_response(405, "method " + req.method + " is not allowed on " + req.path));
      return reply(ctx, *ex, http_error_response(404, "no route for " + req.method + " " + req.path));
    }
    if (found->needs_key) {
      if (Status s = check_api_key(req.header("authorization"), ctx.options().api_key); !s.ok())
        return reply_error(ctx, *ex, s);
    }
    if (found->needs_model) {
      if (ctx.draining()) return reply_error(ctx, *ex, unavailable("the server is draining; retry on another replica"));
      if (!ctx.model()) return reply_error(ctx, *ex, unavailable("the model is still loading; retry when /health says ok"));
    }
    found->handler(ctx, std::move(ex));
  };
}

}  // namespace fathom::server
