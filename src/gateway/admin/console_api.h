// The admin endpoints behind the operator console (docs/console.md, docs/gateway.md "Admin
// API"): tenants and limits, usage by day/tenant/model from the ledger, the live state of
// pools and upstreams, the audit log with its chain verification, the config (secrets
// masked) and its reload. GatewayService::handle_admin calls this after the admin key and its
// second factor passed; the key routes (/admin/keys) stay in gateway_service.cpp.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/billing/ledger.h"
#include "gateway/gateway_metrics.h"
#include "gateway/security/key_store.h"
#include "net/http_message.h"

namespace fathom::gateway {

struct Routing;

/// What the console's endpoints read, handed over per request (no back-reference to the service).
struct ConsoleApiContext {
  std::shared_ptr<const Routing> routing;
  const KeyStore& keys;
  Ledger& ledger;
  std::string audit_path;
  std::string config_path;  ///< the YAML file the gateway runs; "" when unknown
  ConnectionStats connections;
  std::function<Status()> reload;  ///< re-reads config_path and applies it (as SIGHUP does)
  int64_t now_ms = 0;
};

/// The answer for GET /admin/tenants, /admin/usage, /admin/live, /admin/audit, /admin/config and
/// POST /admin/config/reload; nullopt for any other admin path.
std::optional<net::HttpResponse> console_admin_route(const net::HttpRequest& req,
                                                     const ConsoleApiContext& ctx);

}  // namespace fathom::gateway
