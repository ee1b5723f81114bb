#include "gateway/admin/console_api.h"

#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "base/time_format.h"
#include "gateway/admin/console_text.h"
#include "gateway/gateway_service.h"
#include "gateway/proxy/errors.h"
#include "gateway/security/audit_log.h"

namespace fathom::gateway {
namespace {

constexpr int64_t kDefaultAuditRecords = 100;
constexpr int64_t kMaxAuditRecords = 1000;

// Invalid UTF-8 (a config file or tenant name can hold any bytes) is replaced, not thrown on.
net::HttpResponse json_ok(const nlohmann::json& j) {
  net::HttpResponse r;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.headers.push_back({"cache-control", "no-store"});
  return r;
}

nlohmann::json limits_json(const QuotaLimits& l) {
  return {{"requests_per_minute", l.requests_per_minute},
          {"tokens_per_minute", l.tokens_per_minute},
          {"max_concurrent", l.max_concurrent},
          {"monthly_tokens", l.monthly_tokens}};
}

std::string day_of(int64_t time_ms) {
  return format_rfc3339_ms(
             std::chrono::system_clock::time_point(std::chrono::milliseconds(time_ms)))
      .substr(0, 10);
}

// Every tenant the config limits or a key belongs to, sorted.
Result<std::set<std::string>> known_tenants(const ConsoleApiContext& ctx,
                                            std::vector<KeyInfo>* keys_out) {
  FATHOM_ASSIGN_OR_RETURN(std::vector<KeyInfo> keys, ctx.keys.list());
  std::set<std::string> tenants;
  for (const auto& [name, limits] : ctx.routing->cfg.tenant_limits) tenants.insert(name);
  for (const KeyInfo& k : keys) tenants.insert(k.tenant);
  if (keys_out) *keys_out = std::move(keys);
  return tenants;
}

// GET /admin/tenants
net::HttpResponse tenants(const ConsoleApiContext& ctx) {
  std::vector<KeyInfo> keys;
  auto names = known_tenants(ctx, &keys);
  if (!names.ok()) return error_response(names.status());
  const std::string month = month_of(ctx.now_ms);
  nlohmann::json data = nlohmann::json::array();
  for (const std::string& t : *names) {
    int64_t num_keys = 0, active = 0;
    for (const KeyInfo& k : keys) {
      if (k.tenant != t) continue;
      ++num_keys;
      if (k.revoked_ms == 0 && (k.expires_ms == 0 || k.expires_ms > ctx.now_ms)) ++active;
    }
    auto used = ctx.ledger.monthly_tokens(t, month);
    if (!used.ok()) return error_response(used.status());
    const auto limits = ctx.routing->cfg.tenant_limits.find(t);
    data.push_back(
        {{"tenant", t},
         {"configured", limits != ctx.routing->cfg.tenant_limits.end()},
         {"limits", limits_json(limits != ctx.routing->cfg.tenant_limits.end() ? limits->second
                                                                               : QuotaLimits{})},
         {"keys", num_keys},
         {"active_keys", active},
         {"month", month},
         {"month_tokens", *used}});
  }
  return json_ok(
      {{"data", data}, {"key_limits", limits_json(ctx.routing->cfg.default_key_limits)}});
}

// GET /admin/usage?month=2026-12[&tenant=acme]: the ledger's rows summed per day, tenant and model.
net::HttpResponse usage(const net::HttpRequest& req, const ConsoleApiContext& ctx) {
  const std::string month = query_param(req.target, "month").value_or(month_of(ctx.now_ms));
  if (!is_month(month))
    return error_response(400, "invalid_request_error",
                          "month: must be YYYY-MM (e.g. 2026-12), got '" + month + "'",
                          "invalid_value", "month");
  std::set<std::string> names;
  if (auto t = query_param(req.target, "tenant"); t && !t->empty()) {
    names.insert(*t);
  } else {
    auto all = known_tenants(ctx, nullptr);
    if (!all.ok()) return error_response(all.status());
    names = std::move(*all);
  }
  struct Sum {
    int64_t requests = 0, errors = 0, prompt = 0, completion = 0, cached = 0, cost_nanos = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Sum> sums;  // (day, tenant, model)
  for (const std::string& t : names) {
    auto rows = ctx.ledger.rows(t, month);
    if (!rows.ok()) return error_response(rows.status());
    for (const UsageRecord& r : *rows) {
      Sum& s = sums[{day_of(r.time_ms), r.tenant, r.model}];
      ++s.requests;
      if (r.status >= 400) ++s.errors;
      s.prompt += r.prompt_tokens;
      s.completion += r.completion_tokens;
      s.cached += r.cached_tokens;
      s.cost_nanos += r.cost_nanos;
    }
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& [k, s] : sums) {
    const auto& [day, tenant, model] = k;
    data.push_back({{"day", day},
                    {"tenant", tenant},
                    {"model", model},
                    {"requests", s.requests},
                    {"errors", s.errors},
                    {"prompt_tokens", s.prompt},
                    {"completion_tokens", s.completion},
                    {"cached_tokens", s.cached},
                    {"cost_nanos", s.cost_nanos},
                    {"cost", format_nanos(s.cost_nanos)},
                    {"currency", ctx.routing->cfg.prices.currency(model)}});
  }
  return json_ok({{"month", month}, {"data", data}});
}

// GET /admin/live: pools, upstreams, health, breakers, in-flight and queue, as of now.
net::HttpResponse live(const ConsoleApiContext& ctx) {
  nlohmann::json pools = nlohmann::json::array();
  for (const auto& [name, pool] : ctx.routing->pools) {
    const auto cfg = ctx.routing->cfg.pools.find(name);
    nlohmann::json ups = nlohmann::json::array();
    for (const auto& u : pool->upstreams()) {
      const int64_t waiting = u->waiting.load();
      ups.push_back({{"id", u->id},
                     {"model", u->model},
                     {"healthy", u->healthy.load()},
                     {"breaker", breaker_state_name(u->breaker.state())},
                     {"in_flight", u->outstanding.load()},
                     {"waiting", waiting < 0 ? nlohmann::json(nullptr) : nlohmann::json(waiting)},
                     {"requests_total", u->requests_total.load()},
                     {"failures_total", u->failures_total.load()},
                     {"max_model_len", u->max_model_len.load()}});
    }
    pools.push_back({{"name", name},
                     {"zone", zone_name(pool->zone())},
                     {"policy", cfg != ctx.routing->cfg.pools.end() ? cfg->second.policy : ""},
                     {"fallback", pool->fallback()},
                     {"upstreams", ups}});
  }
  nlohmann::json models = nlohmann::json::array();
  for (const ModelRoute& m : ctx.routing->cfg.models)
    models.push_back({{"name", m.name}, {"aliases", m.aliases}, {"pool", m.pool}});
  const ConnectionStats& c = ctx.connections;
  return json_ok({{"time_ms", ctx.now_ms},
                  {"gateway",
                   {{"client_connections", c.client_open},
                    {"in_flight", c.in_flight},
                    {"upstream_connections_opened", c.upstream_opened},
                    {"upstream_requests_reused", c.upstream_reused}}},
                  {"ledger_pending_rows", ctx.ledger.backlog().rows},
                  {"pools", pools},
                  {"models", models}});
}

// GET /admin/audit?limit=100: the chain's verification and its newest records, newest first.
net::HttpResponse audit(const net::HttpRequest& req, const ConsoleApiContext& ctx) {
  int64_t limit = kDefaultAuditRecords;
  if (auto text = query_param(req.target, "limit")) {
    char* end = nullptr;
    const long long v = std::strtoll(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || v < 1 || v > kMaxAuditRecords)
      return error_response(400, "invalid_request_error",
                            "limit: must be an integer in [1, " + std::to_string(kMaxAuditRecords) +
                                "], got '" + *text + "'",
                            "invalid_value", "limit");
    limit = v;
  }
  std::deque<nlohmann::json> newest;
  auto v = verify_audit_log(ctx.audit_path, [&](const nlohmann::json& record) {
    newest.push_back(record);
    if (static_cast<int64_t>(newest.size()) > limit) newest.pop_front();
  });
  nlohmann::json verification;
  if (v.ok()) {
    verification = {{"ok", true},
                    {"records", v->num_records},
                    {"files", v->files},
                    {"first_seq", v->first_seq},
                    {"last_hash", v->last_hash}};
  } else {
    verification = {{"ok", false}, {"error", v.status().message()}};
  }
  nlohmann::json records(nlohmann::json::value_t::array);
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) records.push_back(*it);
  return json_ok({{"path", ctx.audit_path}, {"verification", verification}, {"records", records}});
}

// GET /admin/config
net::HttpResponse config(const ConsoleApiContext& ctx) {
  if (ctx.config_path.empty())
    return error_response(404, "invalid_request_error",
                          "this gateway was not started from a config file");
  std::ifstream in(ctx.config_path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return error_response(500, "server_error", "cannot read " + ctx.config_path);
  auto masked = masked_config_yaml(text.str());
  if (!masked.ok())
    return error_response(400, "invalid_request_error",
                          ctx.config_path + ": " + masked.status().message());
  return json_ok({{"path", ctx.config_path}, {"yaml", *masked}});
}

// POST /admin/config/reload
net::HttpResponse reload(const ConsoleApiContext& ctx) {
  if (!ctx.reload)
    return error_response(404, "invalid_request_error",
                          "this gateway was not started from a config file");
  if (Status s = ctx.reload(); !s.ok())
    return error_response(400, "invalid_request_error",
                          "config reload refused, the running config stays: " + s.message());
  return json_ok({{"reloaded", true}, {"path", ctx.config_path}});
}

}  // namespace

std::optional<net::HttpResponse> console_admin_route(const net::HttpRequest& req,
                                                     const ConsoleApiContext& ctx) {
  if (req.method == "GET") {
    if (req.path == "/admin/tenants") return tenants(ctx);
    if (req.path == "/admin/usage") return usage(req, ctx);
    if (req.path == "/admin/live") return live(ctx);
    if (req.path == "/admin/audit") return audit(req, ctx);
    if (req.path == "/admin/config") return config(ctx);
  }
  if (req.method == "POST" && req.path == "/admin/config/reload") return reload(ctx);
  return std::nullopt;
}

}  // namespace fathom::gateway
