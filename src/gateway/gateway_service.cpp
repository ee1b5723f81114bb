#include "gateway/gateway_service.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "base/logging.h"
#include "console/console_assets.h"
#include "gateway/admin/console_api.h"
#include "gateway/policy/output_filter.h"
#include "gateway/policy/request_policy.h"
#include "gateway/proxy/client_fields.h"
#include "gateway/proxy/errors.h"
#include "gateway/proxy/proxy_call.h"
#include "gateway/quota/redis_quota.h"
#include "gateway/security/api_keys.h"
#include "gateway/security/totp.h"
#include "gateway/security/zone_audit.h"
#include "json/json_fields.h"

namespace fathom::gateway {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

net::HttpResponse json_response(const nlohmann::json& j, int status = 200) {
  net::HttpResponse r;
  r.status = status;
  r.body = j.dump();
  return r;
}

// A request is deterministic (cacheable) at temperature 0 or with a fixed seed.
bool deterministic(const nlohmann::json& body) {
  if (body.contains("seed") && body["seed"].is_number_integer()) return true;
  return body.contains("temperature") && body["temperature"].is_number() && body["temperature"].get<double>() == 0.0;
}

// The model (a base model or an adapter: each has a prefix cache of its own) and the first
// characters of the prompt: requests sharing them go to the same server's prefix cache.
std::string affinity_key(const std::string& model, const nlohmann::json& body) {
  std::string text;
  if (body.contains("messages") && body["messages"].is_array()) {
    for (const auto& m : body["messages"]) {
      if (m.is_object() && m.contains("content") && m["content"].is_string()) text += m["content"].get<std::string>();
      if (text.size() >= 256) break;
    }
  } else if (body.contains("prompt") && body["prompt"].is_string()) {
    text = body["prompt"].get<std::string>();
  } else if (body.contains("input") && body["input"].is_string()) {  // Responses API
    if (body.contains("instructions") && body["instructions"].is_string())
      text = body["instructions"].get<std::string>();
    text += body["input"].get<std::string>();
  }
  return model + '\n' + text.substr(0, 256);
}

net::HttpResponse refusal_response(const policy::Refusal& r) {
  return error_response(r.http_status, r.type, r.message, r.code, r.param);
}

// The upstream's context window from its model list (fathom serve and vLLM report
// max_model_len); 0 when it does not say.
int64_t context_window(net::HttpClient& probe, const Upstream& u) {
  auto resp = probe.request("GET", u.url.path + "/v1/models", "");
  if (!resp.ok() || resp->status != 200) return 0;
  const auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) return 0;
  for (const auto& m : j["data"]) {
    if (!m.is_object()) continue;
    auto id = json::get_string(m, "id");
    if (!u.model.empty() && !(id.ok() && *id && **id == u.model)) continue;
    auto n = json::get_integer(m, "max_model_len");
    if (n.ok() && *n && **n > 0) return **n;
  }
  return 0;
}

// Requests waiting in the upstream's scheduler: the sum of its num_requests_waiting samples
// (fathom serve and vLLM, with either metric prefix); -1 when its /metrics says nothing.
int64_t queue_depth(net::HttpClient& probe, const Upstream& u) {
  auto resp = probe.request("GET", u.url.path + "/metrics", "");
  if (!resp.ok() || resp->status != 200) return -1;
  int64_t total = -1;
  std::string_view text = resp->body;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty() || line[0] == '#') continue;
    const std::string_view name = line.substr(0, line.find_first_of("{ "));
    if (!name.ends_with("num_requests_waiting")) continue;
    const size_t space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    const double v = std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
    total = std::max<int64_t>(total, 0) + static_cast<int64_t>(v);
  }
  return total;
}

struct AdminKeyFields {
  std::string tenant;
  std::vector<std::string> models;
  int64_t expires_in_days = 0;
  bool admin = false;
};

// GET /ui/...: the web console (docs/console.md), compiled into the binary. The pages hold no
// secret; the chat page's API calls carry the user's key, the operator console's the admin key.
net::HttpResponse console_page(const std::string& path) {
  if (path == "/ui") {
    net::HttpResponse r;
    r.status = 308;
    r.content_type = "text/plain";
    r.headers.push_back({"location", "/ui/"});
    return r;
  }
  if (auto page = console::file_response(std::string_view(path).substr(std::strlen("/ui/"))))
    return std::move(*page);
  return error_response(404, "invalid_request_error", "no console page " + path);
}

// The body of POST /admin/keys.
Result<AdminKeyFields> admin_key_fields(const nlohmann::json& body) {
  AdminKeyFields f;
  FATHOM_ASSIGN_OR_RETURN(auto tenant, json::get_string(body, "tenant"));
  if (!tenant || tenant->empty()) return invalid_argument("tenant is required and must be a non-empty string");
  f.tenant = std::move(*tenant);
  if (auto it = body.find("models"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return invalid_argument("models must be an array of model names");
    for (const auto& m : *it) {
      if (!m.is_string()) return invalid_argument("models must be an array of model names");
      f.models.push_back(m.get<std::string>());
    }
  }
  FATHOM_ASSIGN_OR_RETURN(auto days, json::get_integer(body, "expires_in_days"));
  if (days && (*days < 0 || *days > 36'500))
    return invalid_argument("expires_in_days must be in [0, 36500], got " + std::to_string(*days));
  f.expires_in_days = days.value_or(0);
  FATHOM_ASSIGN_OR_RETURN(auto admin, json::get_bool(body, "admin"));
  f.admin = admin.value_or(false);
  return f;
}

// Redact mode: the redacted copy of a sensitive request's body when every reason it is
// sensitive is something found in its text (not the tenant, the key or the client's header),
// and the redaction leaves nothing the rules find. Chat and completions only: a Responses
// answer would have to be restored across its item events, so those requests stay on-prem.
std::optional<ProxyRequest::Redacted> redact_for_cloud(const nlohmann::json& body,
                                                       const std::string& route,
                                                       const classify::Classification& c,
                                                       const classify::ClassifierConfig& rules) {
  if (route == "/v1/responses" || c.has(classify::kReasonAlwaysSensitive) ||
      c.has(classify::kReasonHeader) || c.pattern_errors > 0)
    return std::nullopt;
  nlohmann::json copy = body;
  std::optional<classify::Redaction> r = classify::Redaction::apply(copy, rules);
  if (!r) return std::nullopt;
  return ProxyRequest::Redacted{std::move(copy), std::move(*r)};
}

}  // namespace

Result<std::shared_ptr<Routing>> GatewayService::build_routing(GatewayConfig cfg, const Clock& clock) {
  auto r = std::make_shared<Routing>();
  for (const auto& [name, pool] : cfg.pools) {
    FATHOM_ASSIGN_OR_RETURN(auto p, UpstreamPool::create(name, pool, cfg.breaker, clock));
    r->pools[name] = std::move(p);
  }
  r->cfg = std::move(cfg);
  return r;
}

Result<std::unique_ptr<GatewayService>> GatewayService::create(GatewayConfig cfg,
                                                               const Clock& clock,
                                                               ServerlessClocks serverless) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  std::unique_ptr<GatewayService> s(new GatewayService(cfg, clock));
  s->test_clock_ = serverless.test_clock;
  FATHOM_RETURN_IF_ERROR(s->create_worker_pools(cfg));
  FATHOM_ASSIGN_OR_RETURN(s->protection_, load_data_protection(cfg));
  FATHOM_ASSIGN_OR_RETURN(s->keys_, KeyStore::open(cfg.keys_db, s->protection_));
  FATHOM_ASSIGN_OR_RETURN(s->ledger_, open_ledger(cfg.ledger_db, cfg.ledger_postgres, cfg.ledger_sync));
  FATHOM_ASSIGN_OR_RETURN(s->audit_,
                          AuditLog::open(cfg.audit_log, cfg.audit_hash, cfg.audit_rotation));
  s->admin_lockout_ = std::make_unique<Lockout>(cfg.admin.lockout, clock);
  s->admin_sessions_ = std::make_unique<AdminSessions>(AdminSessionConfig{}, clock);
  FATHOM_ASSIGN_OR_RETURN(s->access_log_, AccessLog::open(cfg.access_log));
  if (cfg.redis) {
    FATHOM_ASSIGN_OR_RETURN(auto rq, RedisQuota::connect(cfg.redis->first, cfg.redis->second));
    s->quota_ = std::move(rq);
  } else {
    s->quota_ = std::make_unique<QuotaTable>(clock);
  }
  const auto ttl = std::chrono::milliseconds(cfg.cache_ttl_ms);
  if (cfg.cache_enabled && cfg.cache_in_redis()) {
    FATHOM_ASSIGN_OR_RETURN(auto redis, RedisClient::connect(cfg.redis->first, cfg.redis->second));
    s->cache_ = std::make_unique<RedisResponseCache>(std::move(redis), ttl,
                                                     "fathom:cache:", s->protection_);
  } else {
    s->cache_ = std::make_unique<LruResponseCache>(cfg.cache_enabled ? cfg.cache_max_entries : 0, ttl, clock);
  }
  FATHOM_ASSIGN_OR_RETURN(auto routing, build_routing(cfg, clock));
  s->routing_ = std::move(routing);
  s->apply_limits(cfg);
  s->month_ = month_of(now_ms());
  std::random_device rd;
  s->random_state_ = (static_cast<uint64_t>(rd()) << 32 | rd()) ^
                     static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  // Request ids (the ledger's key): replicas sharing one ledger must not repeat each other's
  // (a repeated id would be dropped as a retry), so each process draws a random tag.
  char tag[16];
  std::snprintf(tag, sizeof(tag), "%08llx", static_cast<unsigned long long>(s->next_random() & 0xffffffffull));
  s->process_tag_ = tag;
  s->io_ = std::make_shared<net::IoPool>(cfg.num_io_threads);
  s->client_ = std::make_unique<net::StreamClient>(s->io_);
  return s;
}

GatewayService::~GatewayService() { stop(); }

Status GatewayService::create_worker_pools(const GatewayConfig& cfg) {
  const std::string log_dir = cfg.data_dir + "/workers";
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) return unavailable(log_dir + ": cannot create the worker log folder: " + ec.message());
  const Clock& decisions = test_clock_ ? static_cast<const Clock&>(*test_clock_) : clock_;
  for (const auto& [name, pool] : cfg.pools) {
    if (!pool.serverless) continue;
    FATHOM_ASSIGN_OR_RETURN(worker_pools_[name],
                            WorkerPool::create(name, *pool.serverless, cfg.breaker, decisions,
                                               std::make_unique<LocalProcessActuator>(), log_dir));
  }
  return ok_status();
}

WorkerPool* GatewayService::worker_pool(const std::string& pool) const {
  auto it = worker_pools_.find(pool);
  return it == worker_pools_.end() ? nullptr : it->second.get();
}

void GatewayService::apply_limits(const GatewayConfig& cfg) {
  for (const auto& [tenant, limits] : cfg.tenant_limits) quota_->set_tenant_limits(tenant, limits);
  // Per-key limits: the configured default for every key the store knows.
  if (auto keys = keys_->list(); keys.ok())
    for (const KeyInfo& k : *keys) quota_->set_key_limits(k.key_id, cfg.default_key_limits);
}

Status GatewayService::start() {
  const GatewayConfig& cfg = routing()->cfg;
  net::HttpServerOptions opts;
  opts.host = cfg.host;
  opts.port = cfg.port;
  opts.num_io_threads = cfg.num_io_threads;
  opts.max_body_bytes = cfg.max_body_bytes;
  opts.cors_allowed_origins = cfg.cors_allowed_origins;
  opts.tls = cfg.tls;
  server_ = std::make_unique<net::HttpServer>(
      opts, [this](std::shared_ptr<net::Exchange> ex) { handle(std::move(ex)); },
      [](int status, const std::string& message) {
        return error_response(status, status == 413 ? "invalid_request_error" : "server_error", message);
      },
      io_);
  FATHOM_RETURN_IF_ERROR(server_->start());
  for (const auto& [name, pool] : worker_pools_) pool->start();
  health_thread_ = std::thread([this] { health_loop(); });
  FATHOM_LOG(kInfo) << "gateway listening on " << (cfg.tls.enabled() ? "https://" : "http://")
                    << cfg.host << ":" << server_->port() << " (" << cfg.models.size()
                    << " model route(s), " << cfg.pools.size() << " pool(s))";
  return ok_status();
}

uint16_t GatewayService::port() const { return server_ ? server_->port() : 0; }

void GatewayService::stop() {
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  health_cv_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  if (server_) server_->stop();  // stops the I/O pool: what is in flight ends there
  for (const auto& [name, pool] : worker_pools_) pool->shutdown();  // drains and reaps the workers
  client_.reset();
}

Status GatewayService::reload(GatewayConfig cfg) {
  for (const auto& [name, pool] : cfg.pools)
    if (static_cast<bool>(pool.serverless) != worker_pools_.count(name))
      return invalid_argument("pools." + name +
                              ": serverless pools are added or removed only with a restart");
  for (const auto& [name, pool] : worker_pools_)
    if (!cfg.pools.count(name))
      return invalid_argument("pools." + name +
                              ": serverless pools are added or removed only with a restart");
  FATHOM_ASSIGN_OR_RETURN(auto routing, build_routing(cfg, clock_));
  apply_limits(cfg);
  {
    std::lock_guard<std::mutex> lock(routing_mu_);
    routing_ = std::move(routing);
  }
  (void)audit_->append("config.reloaded", {{"models", cfg.models.size()}, {"pools", cfg.pools.size()}});
  FATHOM_LOG(kInfo) << "gateway config reloaded";
  return ok_status();
}

std::shared_ptr<const Routing> GatewayService::routing() const {
  std::lock_guard<std::mutex> lock(routing_mu_);
  return routing_;
}

bool GatewayService::take_retry(double budget_ratio) {
  // A floor of 10 retries so that a quiet gateway can still retry.
  if (static_cast<double>(retries_.load()) >= budget_ratio * static_cast<double>(requests_.load()) + 10) return false;
  ++retries_;
  return true;
}

int64_t GatewayService::monthly_tokens(const std::string& tenant, int64_t add) {
  std::lock_guard<std::mutex> lock(month_mu_);
  const std::string month = month_of(now_ms());
  if (month != month_) {
    month_tokens_.clear();
    month_ = month;
  }
  auto it = month_tokens_.find(tenant);
  if (it == month_tokens_.end()) {
    auto from_ledger = ledger_->monthly_tokens(tenant, month_);
    it = month_tokens_.emplace(tenant, from_ledger.ok() ? *from_ledger : 0).first;
  }
  const int64_t before = it->second;
  it->second += add;
  return before;
}

std::string GatewayService::next_request_id(const std::string& key_id) {
  // key id, process tag, then a counter zero-padded so that one process's ids for one key sort
  // in time order: ledger index inserts land at a few points instead of all over the B-tree.
  char seq[24];
  std::snprintf(seq, sizeof(seq), "%012llx", static_cast<unsigned long long>(request_seq_.fetch_add(1)));
  return key_id + "-" + process_tag_ + "-" + seq;
}

uint64_t GatewayService::next_random() {
  // splitmix64 over an atomic counter: cheap, thread-safe, good enough for load balancing
  uint64_t x = random_state_.fetch_add(0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Result<KeyInfo> GatewayService::authenticate(const net::HttpRequest& req) {
  const std::string& auth = req.header("authorization");
  const std::string prefix = "Bearer ";
  Result<KeyInfo> key = auth.rfind(prefix, 0) == 0
                            ? keys_->authenticate(auth.substr(prefix.size()), now_ms())
                            : Result<KeyInfo>(Status(Code::kUnauthenticated,
                                                     "missing API key: send 'Authorization: Bearer <key>'"));
  if (!key.ok()) {
    metrics_.auth_failed();
    audit_->post("auth.failed", {{"path", req.path}, {"reason", key.status().message()}});
  }
  return key;
}

void GatewayService::handle(std::shared_ptr<net::Exchange> ex) {
  const net::HttpRequest& req = ex->request();
  if (req.method == "GET" && req.path == "/health") return ex->send(json_response({{"status", "ok"}}));  // not logged
  if (req.method == "GET" && (req.path == "/ui" || req.path.rfind("/ui/", 0) == 0))
    return ex->send(console_page(req.path));  // the web console's files: open, not logged
  const Clock::TimePoint started = clock_.now();
  AccessRecord rec;
  rec.method = req.method;
  rec.path = req.path;
  std::optional<net::HttpResponse> answer;
  try {
    answer = route(ex, rec);
  } catch (const std::exception& e) {
    // A defect, not bad input (route() checks every field it reads): answer it rather than let
    // the exception reach the I/O thread and leave the connection hanging. Quota slots are
    // released by their owners' destructors on the way here.
    FATHOM_LOG(kError) << req.method << " " << req.path << ": " << e.what();
    answer = error_response(500, "server_error", "internal error while handling the request");
  }
  if (!answer) return;  // a ProxyCall answers, and logs, when it is done
  rec.usage.status = answer->status;
  rec.duration_ms = std::chrono::duration<double, std::milli>(clock_.now() - started).count();
  if (answer->status >= 400) {
    const auto j = nlohmann::json::parse(answer->body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) rec.error = j["error"].value("message", "");
  }
  ex->send(std::move(*answer));
  access_log_->write(rec);
}

// The answer, or nullopt when a ProxyCall took the request over.
std::optional<net::HttpResponse> GatewayService::route(const std::shared_ptr<net::Exchange>& ex, AccessRecord& rec) {
  const net::HttpRequest& req = ex->request();
  if (req.method == "GET" && req.path == "/metrics") {
    std::vector<const Upstream*> ups;
    auto r = routing();
    for (const auto& [name, pool] : r->pools)
      for (const auto& u : pool->upstreams()) ups.push_back(u.get());
    net::HttpResponse resp;
    resp.content_type = "text/plain; version=0.0.4";
    const ConnectionStats conns{server_->num_open_connections(), server_->num_active_exchanges(),
                                client_->connections_opened(), client_->requests_reused()};
    resp.body = metrics_.render(ups, conns, ledger_->backlog(), now_ms()) +
                render_pool_metrics(worker_pools_);
    return resp;
  }
  auto key = authenticate(req);
  if (!key.ok()) return error_response(key.status());
  rec.usage.tenant = key->tenant;
  rec.usage.key_id = key->key_id;
  if (req.path.rfind("/admin/", 0) == 0) return handle_admin(req, *key);

  auto routing_now = routing();
  const GatewayConfig& cfg = routing_now->cfg;
  if (req.method == "GET" && (req.path == "/v1/models" || req.path.rfind("/v1/models/", 0) == 0)) {
    // Every name the key (and its policy) may use (each route and its aliases), as OpenAI model
    // objects.
    const policy::Policy pol = policy::Policy::resolve(cfg.policies, key->tenant, key->key_id);
    const auto usable = [&](const ModelRoute& m, const std::string& name) {
      return key->allows(m.name) && pol.allows_model({name, m.name});
    };
    static const int64_t kCreated = now_ms() / 1000;
    const auto model_object = [](const std::string& id) {
      return nlohmann::json{{"id", id}, {"object", "model"}, {"created", kCreated}, {"owned_by", "fathom-gateway"}};
    };
    if (req.path != "/v1/models") {
      const std::string id = net::percent_decode(std::string_view(req.path).substr(std::strlen("/v1/models/")));
      const ModelRoute* m = cfg.route(id);
      if (!m || !usable(*m, id))
        return error_response(404, "invalid_request_error", "The model '" + id + "' does not exist",
                              "model_not_found", "model");
      return json_response(model_object(id));
    }
    nlohmann::json data = nlohmann::json::array();
    for (const ModelRoute& m : cfg.models) {
      if (usable(m, m.name)) data.push_back(model_object(m.name));
      for (const auto& a : m.aliases)
        if (usable(m, a)) data.push_back(model_object(a));
    }
    return json_response({{"object", "list"}, {"data", data}});
  }
  if (req.method != "POST" || (req.path != "/v1/chat/completions" &&
                               req.path != "/v1/completions" && req.path != "/v1/responses"))
    return error_response(404, "invalid_request_error", "no route for " + req.method + " " + req.path);

  ProxyRequest pr;
  pr.route = req.path;
  auto body = json::parse_json_object<nlohmann::json>(req.body);
  if (!body.ok()) return error_response(400, "invalid_request_error", body.status().message());
  pr.body = std::move(*body);
  // The tenant's and key's policy rewrites the body before anything reads it (docs/gateway.md,
  // "Tenant policies"): quota, cache, classifier and prefix affinity see what the upstream gets.
  pr.policy = policy::Policy::resolve(cfg.policies, key->tenant, key->key_id);
  const auto refused = [&](const policy::Refusal& r) {
    metrics_.policy_action(key->tenant, r.code.empty() ? r.param : r.code);
    audit_->post(
        "policy.refused",
        {{"key_id", key->key_id}, {"tenant", key->tenant}, {"param", r.param}, {"code", r.code}});
    return refusal_response(r);
  };
  if (auto r = policy::apply_request_policy(pr.policy, req.path, pr.body)) return refused(*r);
  auto fields = read_client_fields(pr.body);
  if (!fields.ok()) return field_error_response(fields.status());
  const std::string& model = fields->model;
  pr.client_model = model;
  pr.model = cfg.route(model);
  if (!pr.model)
    return error_response(404, "invalid_request_error", "The model '" + model + "' does not exist",
                          "model_not_found", "model");
  if (!key->allows(pr.model->name))
    return error_response(403, "permission_error",
                          "API key " + key->key_id + " may not use model '" + pr.model->name + "'");
  if (auto r = policy::check_model(pr.policy, model, pr.model->name)) return refused(*r);
  rec.usage.model = pr.model->name;
  if (cfg.classification.enabled) {
    // After auth and the body's checks, before quota and routing (ProxyCall::pick).
    const classify::ClassifierConfig& rules = cfg.classification.for_tenant(key->tenant);
    const classify::Classification c =
        classify::classify({.texts = classify::request_texts(pr.body),
                            .key_id = key->key_id,
                            .sensitivity_header = req.header("x-fathom-sensitivity")},
                           rules);
    metrics_.classified(c.sensitive);
    rec.classification = c;
    pr.classification = c;
    if (c.sensitive && rules.redact) pr.redacted = redact_for_cloud(pr.body, req.path, c, rules);
  }
  pr.stream = fields->stream;
  rec.stream = pr.stream;
  pr.client_wants_usage = fields->include_usage;
  pr.affinity_key = affinity_key(pr.model->name, pr.body);
  pr.prompt_estimate = static_cast<int64_t>(req.body.size() / 4);
  if (const auto& sp = pr.policy.system_prompt()) pr.prompt_estimate += sp->text.size() / 4;
  pr.key = *key;
  // The pre-charge: the prompt as estimated plus the most the answer may use, which the
  // model's context window bounds (a huge max_tokens is the upstream's 400 to give, not a 429).
  int64_t charge = pr.prompt_estimate + std::min<int64_t>(fields->max_tokens, int64_t{1} << 40);
  if (auto pool = routing_now->pools.find(pr.model->pool); pool != routing_now->pools.end())
    if (const int64_t window = pool->second->max_model_len(); window > 0)
      charge = std::min(charge, window);
  const Admission admission{key->key_id, key->tenant, charge};
  ++requests_;

  Clock::Duration retry_after{};
  if (Status q = quota_->admit(admission, &retry_after); !q.ok()) {
    metrics_.quota_rejected(key->tenant, q.message());
    audit_->post("quota.rejected", {{"key_id", key->key_id}, {"tenant", key->tenant}, {"reason", q.message()}});
    net::HttpResponse r = error_response(q);
    const auto secs = std::chrono::ceil<std::chrono::seconds>(retry_after).count();
    r.headers.push_back({"retry-after", std::to_string(std::max<int64_t>(1, secs))});
    return r;
  }
  pr.slot = QuotaSlot(*quota_, admission);
  if (!pr.stream && cfg.cache_enabled && deterministic(pr.body)) {
    nlohmann::json canon = pr.body;
    canon["model"] = pr.model->name;
    pr.cache_key = sha256_hex(req.path + "\n" + json::dump(canon));
    // Answers a cloud pool gave are cached under their own key, which a sensitive request never
    // reads.
    auto hit = cache_->get(pr.cache_key);
    if (!hit && !pr.sensitive()) hit = cache_->get(pr.cache_key + kCloudCacheSuffix);
    if (hit) {
      pr.slot.release(0);
      net::HttpResponse r;
      r.body = policy::filter_response_body(pr.policy, req.path, *hit);  // cached unfiltered
      r.headers.push_back({"x-fathom-cache", "hit"});
      rec.cache = "hit";
      RequestSample s;
      s.route = req.path;
      s.model = pr.model->name;
      s.tenant = key->tenant;
      s.status = 200;
      s.cache_hit = true;
      metrics_.record(s);
      if (pr.sensitive()) {  // evidence: served from an on-prem answer in the cache
        const SensitiveRoute route{.request_id = "",
                                   .tenant = key->tenant,
                                   .upstream = "cache",
                                   .zone = "on_prem",
                                   .status = 200};
        audit_->post(
            kSensitiveRouteEvent,
            sensitive_route_details(route, key->key_id, pr.model->name, *pr.classification));
      }
      return r;
    }
  }
  auto call = std::make_shared<ProxyCall>(*this, routing_now, ex, std::move(pr));
  call->start();
  return std::nullopt;
}

std::optional<net::HttpResponse> GatewayService::check_admin_factors(const net::HttpRequest& req,
                                                                     const KeyInfo& key) {
  const AdminSecurityConfig& admin = routing()->cfg.admin;
  if (!admin.second_factor()) return std::nullopt;
  if (const auto locked = admin_lockout_->locked_for(key.key_id);
      locked > Clock::Duration::zero()) {
    audit_->post("admin.locked_out", {{"key_id", key.key_id}, {"path", req.path}});
    net::HttpResponse r =
        error_response(403, "permission_error",
                       "admin key " + key.key_id + " is locked after repeated failed logins");
    r.headers.push_back(
        {"retry-after", std::to_string(std::chrono::ceil<std::chrono::seconds>(locked).count())});
    return r;
  }
  // The console's session stands in for the code (the code was checked when it was opened).
  if (const std::string& session = req.header("x-fathom-admin-session"); !session.empty()) {
    if (admin_sessions_->check(session, key.key_id)) return std::nullopt;
    return error_response(401, "authentication_error",
                          "the admin session has expired or is unknown: log in again");
  }
  const auto secret = admin.totp_keys.find(key.key_id);
  if (secret == admin.totp_keys.end())
    return error_response(
        403, "permission_error",
        "admin key " + key.key_id + " has no second factor configured (admin.totp_secrets)");
  const TotpCheck check = verify_totp(secret->second, req.header("x-fathom-otp"), now_ms() / 1000);
  bool fresh = false;
  if (check.ok) {
    std::lock_guard<std::mutex> lock(otp_mu_);
    int64_t& last = last_otp_step_[key.key_id];
    fresh = check.step > last;  // a code is good once: a replayed one fails
    if (fresh) last = check.step;
  }
  if (!fresh) {
    const bool locked_now = admin_lockout_->failure(key.key_id);
    audit_->post("admin.second_factor_failed",
                 {{"key_id", key.key_id}, {"path", req.path}, {"locked", locked_now}});
    return error_response(
        401, "authentication_error",
        "the admin API needs the current one-time code of this key in x-fathom-otp");
  }
  admin_lockout_->success(key.key_id);
  return std::nullopt;
}

net::HttpResponse GatewayService::handle_admin(const net::HttpRequest& req, const KeyInfo& key) {
  if (!key.admin) return error_response(403, "permission_error", "the admin API needs an admin key");
  if (auto refused = check_admin_factors(req, key)) return std::move(*refused);
  if (auto session = admin_session_route(req, key)) return std::move(*session);
  if (req.method == "GET" && req.path == "/admin/keys") {
    auto keys = keys_->list();
    if (!keys.ok()) return error_response(keys.status());
    nlohmann::json data = nlohmann::json::array();
    for (const KeyInfo& k : *keys)
      data.push_back({{"key_id", k.key_id}, {"tenant", k.tenant}, {"models", k.models}, {"admin", k.admin},
                      {"created_ms", k.created_ms}, {"expires_ms", k.expires_ms}, {"revoked_ms", k.revoked_ms}});
    return json_response({{"data", data}});
  }
  if (req.method == "POST" && req.path == "/admin/keys") {
    auto body = json::parse_json_object<nlohmann::json>(req.body);
    if (!body.ok()) return error_response(400, "invalid_request_error", body.status().message());
    auto fields = admin_key_fields(*body);
    if (!fields.ok()) return field_error_response(fields.status());
    const int64_t now = now_ms();
    const int64_t days = fields->expires_in_days;
    auto k = keys_->create(fields->tenant, fields->models, days > 0 ? now + days * 86'400'000 : 0, fields->admin, now);
    if (!k.ok()) return error_response(k.status());
    quota_->set_key_limits(k->info.key_id, routing()->cfg.default_key_limits);
    (void)audit_->append("key.created", {{"key_id", k->info.key_id}, {"tenant", k->info.tenant}, {"by", key.key_id}});
    return json_response({{"key", k->key}, {"key_id", k->info.key_id}, {"tenant", k->info.tenant}}, 201);
  }
  const std::string prefix = "/admin/keys/";
  if (req.method == "DELETE" && req.path.rfind(prefix, 0) == 0) {
    const std::string id = req.path.substr(prefix.size());
    if (Status s = keys_->revoke(id, now_ms()); !s.ok()) return error_response(s);
    (void)audit_->append("key.revoked", {{"key_id", id}, {"by", key.key_id}});
    return json_response({{"key_id", id}, {"revoked", true}});
  }
  if (auto answer = handle_pool_admin(req, worker_pools_, test_clock_)) return std::move(*answer);
  const ConsoleApiContext console{
      .routing = routing(),
      .keys = *keys_,
      .ledger = *ledger_,
      .audit_path = routing()->cfg.audit_log,
      .config_path = config_path_,
      .connections = {server_->num_open_connections(), server_->num_active_exchanges(),
                      client_->connections_opened(), client_->requests_reused()},
      .reload =
          config_path_.empty() ? std::function<Status()>() : [this] { return reload_from_file(); },
      .now_ms = now_ms()};
  if (auto answer = console_admin_route(req, console)) return std::move(*answer);
  return error_response(404, "invalid_request_error", "no admin route for " + req.method + " " + req.path);
}

std::optional<net::HttpResponse> GatewayService::admin_session_route(const net::HttpRequest& req,
                                                                     const KeyInfo& key) {
  if (req.path != "/admin/session") return std::nullopt;
  if (req.method == "POST") {
    auto token = admin_sessions_->open(key.key_id);
    if (!token.ok()) return error_response(token.status());
    audit_->post("admin.session_opened", {{"key_id", key.key_id}});
    const AdminSessionConfig limits;
    return json_response({{"session", *token},
                          {"key_id", key.key_id},
                          {"idle_ms", limits.idle_ms},
                          {"max_ms", limits.max_ms},
                          {"second_factor", routing()->cfg.admin.second_factor()}},
                         201);
  }
  if (req.method == "DELETE") {
    admin_sessions_->close(req.header("x-fathom-admin-session"));
    audit_->post("admin.session_closed", {{"key_id", key.key_id}});
    return json_response({{"closed", true}});
  }
  return error_response(405, "invalid_request_error",
                        "method " + req.method + " is not allowed on /admin/session");
}

Status GatewayService::reload_from_file() {
  const Status tls = reload_tls();  // the config reloads either way
  if (!tls.ok())
    FATHOM_LOG(kError) << "TLS reload failed, keeping the running certificate: " << tls.message();
  auto fresh = load_gateway_config(config_path_);
  if (!fresh.ok()) {
    FATHOM_LOG(kError) << "config reload refused, keeping the running config: "
                       << fresh.status().message();
    return fresh.status();
  }
  if (Status s = reload(*fresh); !s.ok()) {
    FATHOM_LOG(kError) << "config reload failed: " << s.message();
    return s;
  }
  return tls;
}

void GatewayService::check_upstreams(const Routing& r) {
  for (const auto& [name, pool] : r.pools) {
    for (const auto& u : pool->upstreams()) {
      net::HttpClient probe(u->url, 2'000);  // https as the upstream's url says
      auto resp = probe.request("GET", u->url.path + "/health", "");
      const bool ok = resp.ok() && resp->status == 200;
      if (ok && u->max_model_len.load() == 0) u->max_model_len = context_window(probe, *u);
      if (pool->wants_queue_depth()) u->waiting = ok ? queue_depth(probe, *u) : -1;
      // Out of the pool after health_unhealthy_threshold failures in a row, back on one success.
      u->failed_probes = ok ? 0 : u->failed_probes + 1;
      const bool was = u->healthy.load();
      const bool healthy = ok || (was && u->failed_probes < r.cfg.health_unhealthy_threshold);
      const std::string why = ok          ? ""
                              : resp.ok() ? "HTTP " + std::to_string(resp->status)
                                          : resp.status().message();
      if (healthy && !was) FATHOM_LOG(kWarning) << "upstream " << u->id << " is now healthy";
      if (!healthy && was)
        FATHOM_LOG(kWarning) << "upstream " << u->id << " is now unhealthy (" << u->failed_probes
                             << " failed health checks in a row; the last: " << why << ")";
      if (healthy && !ok)
        FATHOM_LOG(kWarning) << "upstream " << u->id << " failed a health check ("
                             << u->failed_probes << " of " << r.cfg.health_unhealthy_threshold
                             << " in a row before it leaves its pool): " << why;
      u->healthy = healthy;
    }
  }
}

void GatewayService::health_loop() {
  std::unique_lock<std::mutex> lock(health_mu_);
  while (!stopping_) {
    auto r = routing();
    lock.unlock();
    check_upstreams(*r);
    lock.lock();
    health_cv_.wait_for(lock, std::chrono::milliseconds(r->cfg.health_interval_ms), [&] { return stopping_; });
  }
}

}  // namespace fathom::gateway
