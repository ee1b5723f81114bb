#include "gateway/config/gateway_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "gateway/config/policy_config_parse.h"
#include "gateway/config/serverless_config_parse.h"
#include "gateway/config/yaml_fields.h"
#include "gateway/lb/load_balancer.h"
#include "gateway/security/totp.h"

namespace fathom::gateway {
namespace {

// An https upstream's `tls: {ca_file, client_cert, client_key, pin_sha256}`; pin_sha256 is one
// pin or a list. The files are read when the routes are built (a bad one names itself there).
net::TlsClientConfig parse_tls_client(const YAML::Node& n, const std::string& path,
                                      std::vector<std::string>& problems) {
  Fields f(n, path, problems);
  f.reject_unknown({"ca_file", "client_cert", "client_key", "pin_sha256"});
  net::TlsClientConfig t;
  f.get("ca_file", t.ca_file);
  f.get("client_cert", t.client_cert_file);
  f.get("client_key", t.client_key_file);
  if (const YAML::Node pins = f.child("pin_sha256"); pins && pins.IsScalar())
    t.pin_sha256.push_back(pins.as<std::string>());
  else
    f.get("pin_sha256", t.pin_sha256);
  for (const std::string& p : net::check_tls_client_config(t)) problems.push_back(path + "." + p);
  return t;
}

QuotaLimits parse_limits(const YAML::Node& n, const std::string& path, std::vector<std::string>& problems) {
  Fields f(n, path, problems);
  f.reject_unknown({"requests_per_minute", "tokens_per_minute", "max_concurrent", "monthly_tokens"});
  QuotaLimits l;
  f.get("requests_per_minute", l.requests_per_minute);
  f.get("tokens_per_minute", l.tokens_per_minute);
  f.get("max_concurrent", l.max_concurrent);
  f.get("monthly_tokens", l.monthly_tokens);
  for (int64_t v : {l.requests_per_minute, l.tokens_per_minute, l.max_concurrent, l.monthly_tokens})
    if (v < 0) f.problem("", "limits must be >= 0 (0 = unlimited)");
  return l;
}

PriceTier parse_tier(const YAML::Node& n, const std::string& path, std::vector<std::string>& problems) {
  Fields f(n, path, problems);
  PriceTier t;
  auto price = [&](const char* key, int64_t& out, bool required) {
    std::string text;
    f.get(key, text);
    if (text.empty()) {
      if (required) f.problem(key, "is required");
      return;
    }
    auto p = parse_price_per_1k(text);
    if (!p.ok()) {
      f.problem(key, p.status().message());
    } else {
      out = *p;
    }
  };
  f.get("from_monthly_tokens", t.from_monthly_tokens);
  price("input_per_1k", t.input_nanos_per_token, true);
  price("output_per_1k", t.output_nanos_per_token, true);
  t.cached_input_nanos_per_token = t.input_nanos_per_token;
  price("cached_input_per_1k", t.cached_input_nanos_per_token, false);
  return t;
}

// A per_compute plan: `per_instance_second` is a decimal price (up to 6 decimals), so it is
// micro-units per second, i.e. nano-units per millisecond.
ComputePrice parse_compute_price(Fields& f) {
  ComputePrice c;
  std::string text;
  f.get("per_instance_second", text);
  if (text.empty()) {
    f.problem("per_instance_second", "is required for plan per_compute (a decimal price)");
  } else if (auto micros = parse_price_per_1k(text); !micros.ok()) {
    f.problem("per_instance_second", micros.status().message());
  } else {
    c.nanos_per_ms = *micros;
  }
  f.get("granularity_ms", c.granularity_ms);
  if (c.granularity_ms < 1 || c.granularity_ms > 3'600'000)
    f.problem("granularity_ms", "must be in 1..3600000 (milliseconds)");
  f.get("bill_cold_start", c.bill_cold_start);
  return c;
}

// One classifier's rules, read through `f`: the section's defaults (base == nullptr) or a tenant's
// overrides on top of them. A tenant's `detectors` replace the defaults; its keywords,
// patterns and keys add to them, so no tenant can drop the gateway-wide rules.
classify::ClassifierConfig parse_classifier(Fields& f, const classify::ClassifierConfig* base) {
  classify::ClassifierConfig c = base ? *base : classify::ClassifierConfig{};
  if (f.child("detectors")) {
    std::vector<std::string> names;
    f.get("detectors", names);
    c.detectors = 0;
    for (const std::string& name : names) {
      if (auto k = classify::detector_from_name(name)) {
        c.detectors |= classify::detector_bit(*k);
      } else {
        std::string known;
        for (int i = 0; i < classify::kNumDetectorKinds; ++i)
          known += std::string(i ? ", " : "") +
                   std::string(classify::detector_name(static_cast<classify::DetectorKind>(i)));
        f.problem("detectors", "unknown detector '" + name + "' (known: " + known + ")");
      }
    }
  }
  std::vector<std::string> keywords, patterns, keys;
  f.get("keywords", keywords);
  f.get("patterns", patterns);
  f.get("always_sensitive_keys", keys);
  for (size_t i = 0; i < keywords.size(); ++i) {
    auto k = classify::normalize_keyword(keywords[i]);
    if (k.ok())
      c.keywords.push_back(std::move(*k));
    else
      f.problem("keywords[" + std::to_string(i) + "]", k.status().message());
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto p = classify::compile_pattern(patterns[i]);
    if (p.ok())
      c.patterns.push_back(std::move(*p));
    else
      f.problem("patterns[" + std::to_string(i) + "]",
                p.status().message() + " ('" + patterns[i] + "')");
  }
  c.always_sensitive_keys.insert(c.always_sensitive_keys.end(), keys.begin(), keys.end());
  f.get("always_sensitive", c.always_sensitive);
  f.get("redact", c.redact);
  return c;
}

classify::ClassificationConfig parse_classification(const YAML::Node& n,
                                                    std::vector<std::string>& problems) {
  classify::ClassificationConfig c;
  if (!n) return c;  // no section: classification is off
  Fields f(n, "classification", problems);
  f.reject_unknown({"enabled", "detectors", "keywords", "patterns", "always_sensitive_keys",
                    "redact", "tenants"});
  c.enabled = true;
  f.get("enabled", c.enabled);
  c.defaults = parse_classifier(f, nullptr);
  const YAML::Node tenants = f.child("tenants");
  if (tenants && !tenants.IsMap() && !tenants.IsNull())
    f.problem("tenants", "must be a mapping of tenant names to rules");
  if (tenants && tenants.IsMap())
    for (const auto& kv : tenants) {
      const std::optional<std::string> t = key_text(kv.first, "classification.tenants", problems);
      if (!t) continue;
      Fields tf(kv.second, "classification.tenants." + *t, problems);
      tf.reject_unknown({"always_sensitive", "always_sensitive_keys", "detectors", "keywords",
                         "patterns", "redact"});
      c.tenants[*t] = parse_classifier(tf, &c.defaults);
    }
  return c;
}

}  // namespace

const ModelRoute* GatewayConfig::route(const std::string& model) const {
  for (const ModelRoute& r : models) {
    if (r.name == model) return &r;
    for (const auto& a : r.aliases)
      if (a == model) return &r;
  }
  return nullptr;
}

const char* zone_name(Zone z) { return z == Zone::kCloud ? "cloud" : "on_prem"; }

Result<GatewayConfig> parse_gateway_config(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ": not valid YAML (line " + std::to_string(e.mark.line + 1) + "): " + e.msg);
  }
  std::vector<std::string> problems;
  GatewayConfig c;
  Fields top(root, "", problems);
  top.reject_unknown({"listen",          "data_dir",       "keys_db",         "ledger_db",
                      "ledger_postgres", "ledger_sync",    "audit_log",       "access_log",
                      "redis",           "timeouts",       "max_body_bytes",  "retry",
                      "breaker",         "health_check",   "pools",           "models",
                      "prices",          "tenants",        "key_limits",      "cache",
                      "io_threads",      "cors",           "classification",  "admin",
                      "audit_hash",      "audit_rotation", "data_protection", "policies"});
  {
    Fields f(top.child("listen"), "listen", problems);
    f.reject_unknown({"host", "port", "tls"});
    f.get("host", c.host);
    int port = c.port;
    f.get("port", port);
    if (port < 0 || port > 65535) f.problem("port", "must be in 0..65535");
    c.port = static_cast<uint16_t>(port);
    if (const YAML::Node tls = f.child("tls"); tls && !tls.IsNull()) {
      Fields t(tls, "listen.tls", problems);
      t.reject_unknown({"cert", "key", "client_ca"});
      t.get("cert", c.tls.cert_file);
      t.get("key", c.tls.key_file);
      t.get("client_ca", c.tls.client_ca_file);
      if (c.tls.cert_file.empty()) t.problem("cert", "is required (a PEM certificate file)");
      if (c.tls.key_file.empty()) t.problem("key", "is required (a PEM private key file)");
    }
  }
  top.get("io_threads", c.num_io_threads);
  if (c.num_io_threads < 1 || c.num_io_threads > 256) top.problem("io_threads", "must be in 1..256");
  top.get("data_dir", c.data_dir);
  top.get("keys_db", c.keys_db);
  top.get("ledger_db", c.ledger_db);
  top.get("ledger_postgres", c.ledger_postgres);
  std::string ledger_sync = "normal";
  top.get("ledger_sync", ledger_sync);
  if (auto sync = parse_ledger_sync(ledger_sync); sync.ok())
    c.ledger_sync = *sync;
  else
    top.problem("ledger_sync", sync.status().message());
  top.get("audit_log", c.audit_log);
  top.get("access_log", c.access_log);
  if (c.keys_db.empty()) c.keys_db = c.data_dir + "/keys.db";
  if (c.ledger_db.empty()) c.ledger_db = c.data_dir + "/ledger.db";
  if (c.audit_log.empty()) c.audit_log = c.data_dir + "/audit.jsonl";
  if (top.child("redis")) {
    Fields f(top.child("redis"), "redis", problems);
    f.reject_unknown({"host", "port"});
    std::string host = "127.0.0.1";
    int port = 6379;
    f.get("host", host);
    f.get("port", port);
    c.redis = {host, port};
  }
  {
    Fields f(top.child("timeouts"), "timeouts", problems);
    f.reject_unknown({"request_ms", "first_byte_ms", "idle_ms", "keepalive_comment_ms"});
    f.duration_ms("request_ms", c.request_timeout_ms);
    f.duration_ms("first_byte_ms", c.first_byte_timeout_ms);
    f.duration_ms("idle_ms", c.idle_timeout_ms);
    f.duration_ms("keepalive_comment_ms", c.keepalive_comment_ms);
  }
  top.get("max_body_bytes", c.max_body_bytes);
  {
    Fields f(top.child("cors"), "cors", problems);
    f.reject_unknown({"allowed_origins"});
    f.get("allowed_origins", c.cors_allowed_origins);
  }
  {
    std::string name = "sha256";
    top.get("audit_hash", name);
    if (auto alg = parse_audit_hash(name))
      c.audit_hash = *alg;
    else
      top.problem("audit_hash", "must be sha256 or sm3 (got '" + name + "')");
  }
  if (const YAML::Node dp = top.child("data_protection"); dp && !dp.IsNull()) {
    Fields f(dp, "data_protection", problems);
    f.reject_unknown({"key_file", "suite"});
    f.get("key_file", c.data_key_file);
    if (c.data_key_file.empty())
      f.problem("key_file", "is required (64 hex digits: openssl rand -hex 32)");
    std::string suite = "aes";
    f.get("suite", suite);
    if (auto parsed = parse_data_suite(suite); parsed.ok())
      c.data_suite = *parsed;
    else
      f.problem("suite", parsed.status().message());
  }
  {
    Fields f(top.child("audit_rotation"), "audit_rotation", problems);
    f.reject_unknown({"max_bytes", "max_age_days", "retain_days"});
    AuditRotation& r = c.audit_rotation;
    f.get("max_bytes", r.max_bytes);
    f.get("max_age_days", r.max_age_days);
    f.get("retain_days", r.retain_days);
    if (r.max_bytes < 0) f.problem("max_bytes", "must be 0 (no rotation by size) or more");
    if (r.max_age_days < 0 || r.max_age_days > 3660)
      f.problem("max_age_days", "must be in 0..3660");
    if (r.retain_days != 0 &&
        (r.retain_days < AuditRotation::kMinRetainDays || r.retain_days > 36600))
      f.problem("retain_days", "must be 0 (keep every rotated file) or at least " +
                                   std::to_string(AuditRotation::kMinRetainDays) +
                                   " days (the legal floor for network logs)");
  }
  {
    Fields f(top.child("admin"), "admin", problems);
    f.reject_unknown({"totp_secrets", "lockout"});
    std::map<std::string, std::string> secrets;
    f.get("totp_secrets", secrets);
    for (const auto& [key_id, secret] : secrets) {
      Result<std::string> key = base32_decode(secret);
      if (!key.ok())
        f.problem("totp_secrets." + key_id, key.status().message());
      else
        c.admin.totp_keys[key_id] = std::move(*key);
    }
    Fields l(f.child("lockout"), "admin.lockout", problems);
    l.reject_unknown({"max_failures", "window_ms", "lock_ms"});
    l.get("max_failures", c.admin.lockout.max_failures);
    if (c.admin.lockout.max_failures < 0)
      l.problem("max_failures", "must be 0 (never lock) or positive");
    l.duration_ms("window_ms", c.admin.lockout.window_ms);
    l.duration_ms("lock_ms", c.admin.lockout.lock_ms);
  }
  {
    Fields f(top.child("retry"), "retry", problems);
    f.reject_unknown({"max_attempts", "budget_ratio"});
    f.get("max_attempts", c.max_attempts);
    f.get("budget_ratio", c.retry_budget_ratio);
    if (c.max_attempts < 1) f.problem("max_attempts", "must be at least 1");
  }
  {
    Fields f(top.child("breaker"), "breaker", problems);
    f.reject_unknown({"window_ms", "buckets", "min_requests", "error_rate", "sleep_window_ms", "half_open_probes"});
    int64_t window = c.breaker.window.count(), sleep = c.breaker.sleep_window.count();
    f.duration_ms("window_ms", window);
    f.get("buckets", c.breaker.num_buckets);
    f.get("min_requests", c.breaker.min_requests);
    f.get("error_rate", c.breaker.error_rate_threshold);
    f.duration_ms("sleep_window_ms", sleep);
    f.get("half_open_probes", c.breaker.half_open_probes);
    c.breaker.window = std::chrono::milliseconds(window);
    c.breaker.sleep_window = std::chrono::milliseconds(sleep);
    if (!(c.breaker.error_rate_threshold > 0 && c.breaker.error_rate_threshold <= 1))  // NaN too
      f.problem("error_rate", "must be in (0, 1]");
  }
  {
    Fields f(top.child("health_check"), "health_check", problems);
    f.reject_unknown({"interval_ms", "unhealthy_threshold"});
    f.duration_ms("interval_ms", c.health_interval_ms);
    f.positive("unhealthy_threshold", c.health_unhealthy_threshold);
  }
  const YAML::Node pools = top.child("pools");
  if (!pools || !pools.IsMap() || pools.size() == 0) {
    problems.push_back("pools: at least one upstream pool is required");
  } else {
    for (const auto& kv : pools) {
      const std::optional<std::string> key = key_text(kv.first, "pools", problems);
      if (!key) continue;
      const std::string& name = *key;
      const std::string path = "pools." + name;
      Fields f(kv.second, path, problems);
      PoolConfig p;
      std::string kind = "static";
      f.get("kind", kind);
      if (kind == "serverless") {
        f.reject_unknown(serverless_pool_fields());
        p.serverless = parse_serverless_pool(f, path, name, problems);
        c.pools[name] = p;
        continue;
      }
      if (kind != "static") f.problem("kind", "must be static or serverless (got '" + kind + "')");
      f.reject_unknown({"kind", "policy", "upstreams", "fallback", "zone", "burst"});
      f.get("policy", p.policy);
      std::string zone = "on_prem";
      f.get("zone", zone);
      if (zone == "cloud")
        p.zone = Zone::kCloud;
      else if (zone != "on_prem")
        f.problem("zone", "must be on_prem or cloud (got '" + zone + "')");
      {
        Fields b(f.child("burst"), path + ".burst", problems);
        b.reject_unknown({"max_in_flight", "max_waiting", "p95_ms"});
        b.get("max_in_flight", p.burst_max_in_flight);
        b.get("max_waiting", p.burst_max_waiting);
        b.duration_ms("p95_ms", p.burst_p95_ms);
        if (p.burst_max_in_flight < 0) b.problem("max_in_flight", "must be 0 (never) or positive");
        if (p.burst_max_waiting < 0) b.problem("max_waiting", "must be 0 (never) or positive");
      }
      if (auto lb = make_load_balancer(p.policy); !lb.ok()) f.problem("policy", lb.status().message());
      f.get("fallback", p.fallback);
      const YAML::Node ups = f.child("upstreams");
      if (!ups || !ups.IsSequence() || ups.size() == 0) f.problem("upstreams", "must list at least one upstream");
      for (size_t i = 0; ups && ups.IsSequence() && i < ups.size(); ++i) {
        Fields u(ups[i], path + ".upstreams[" + std::to_string(i) + "]", problems);
        UpstreamConfig up;
        u.get("url", up.url);
        u.get("model", up.model);
        const bool https = up.url.rfind("https://", 0) == 0;
        if (!https && up.url.rfind("http://", 0) != 0)
          u.problem("url", "must start with http:// or https:// (got '" + up.url + "')");
        if (const YAML::Node tls = u.child("tls"); tls && !tls.IsNull()) {
          up.tls = parse_tls_client(tls, u.path("tls"), problems);
          if (!https) u.problem("tls", "is only for https:// upstreams");
        }
        p.upstreams.push_back(up);
      }
      c.pools[name] = p;
    }
    for (const auto& [name, p] : c.pools) {
      if (!p.fallback.empty() && !c.pools.count(p.fallback))
        problems.push_back("pools." + name + ".fallback: no pool named '" + p.fallback + "'");
      else if (!p.fallback.empty() && c.pools.at(p.fallback).serverless)
        problems.push_back("pools." + name + ".fallback: '" + p.fallback +
                           "' is a serverless pool, which cannot be a fallback");
      if (p.bursts() && p.fallback.empty())
        problems.push_back("pools." + name + ".burst: needs a fallback pool to burst to");
    }
  }
  const YAML::Node models = top.child("models");
  if (!models || !models.IsSequence() || models.size() == 0) {
    problems.push_back("models: at least one model route is required");
  } else {
    std::set<std::string> names;
    for (size_t i = 0; i < models.size(); ++i) {
      Fields f(models[i], "models[" + std::to_string(i) + "]", problems);
      f.reject_unknown({"name", "aliases", "pool"});
      ModelRoute r;
      f.get("name", r.name);
      f.get("aliases", r.aliases);
      f.get("pool", r.pool);
      if (r.name.empty()) f.problem("name", "is required");
      if (!c.pools.count(r.pool)) f.problem("pool", "no pool named '" + r.pool + "'");
      for (const std::string& n : [&] { auto v = r.aliases; v.push_back(r.name); return v; }())
        if (!names.insert(n).second) f.problem("", "model name or alias '" + n + "' is used twice");
      c.models.push_back(r);
    }
  }
  if (const YAML::Node prices = top.child("prices"); prices && prices.IsMap()) {
    for (const auto& kv : prices) {
      const std::optional<std::string> key = key_text(kv.first, "prices", problems);
      if (!key) continue;
      const std::string& model = *key;
      const std::string path = "prices." + model;
      Fields f(kv.second, path, problems);
      ModelPrice mp;
      f.get("currency", mp.currency);
      std::string plan = "per_token";
      f.get("plan", plan);
      if (plan == "per_compute") {
        f.reject_unknown(
            {"plan", "currency", "per_instance_second", "granularity_ms", "bill_cold_start"});
        mp.compute = parse_compute_price(f);
      } else {
        if (plan != "per_token")
          f.problem("plan", "must be per_token or per_compute (got '" + plan + "')");
        mp.tiers.push_back(parse_tier(kv.second, path, problems));
        const YAML::Node tiers = f.child("tiers");
        for (size_t i = 0; tiers && tiers.IsSequence() && i < tiers.size(); ++i)
          mp.tiers.push_back(
              parse_tier(tiers[i], path + ".tiers[" + std::to_string(i) + "]", problems));
      }
      if (!c.route(model)) f.problem("", "no model route named '" + model + "'");
      if (Status s = c.prices.set(model, mp); !s.ok()) problems.push_back(s.message());
    }
  }
  if (const YAML::Node tenants = top.child("tenants"); tenants && tenants.IsMap())
    for (const auto& kv : tenants) {
      if (const std::optional<std::string> t = key_text(kv.first, "tenants", problems))
        c.tenant_limits[*t] = parse_limits(kv.second, "tenants." + *t, problems);
    }
  if (top.child("key_limits")) c.default_key_limits = parse_limits(top.child("key_limits"), "key_limits", problems);
  {
    Fields f(top.child("cache"), "cache", problems);
    f.reject_unknown({"enabled", "max_entries", "ttl_ms", "backend"});
    f.get("enabled", c.cache_enabled);
    f.get("max_entries", c.cache_max_entries);
    f.duration_ms("ttl_ms", c.cache_ttl_ms);
    f.get("backend", c.cache_backend);
    if (c.cache_backend != "auto" && c.cache_backend != "memory" && c.cache_backend != "redis")
      f.problem("backend", "must be auto, memory or redis");
    else if (c.cache_backend == "redis" && !c.redis)
      f.problem("backend", "redis needs a top-level 'redis: {host, port}'");
  }
  c.classification = parse_classification(top.child("classification"), problems);
  c.policies = parse_policies(
      top.child("policies"), [&c](const std::string& m) { return c.route(m) != nullptr; },
      problems);
  if (!problems.empty()) {
    std::string msg = source + ": invalid gateway config:";
    for (const auto& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  return c;
}

Result<GatewayConfig> load_gateway_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found(path + ": cannot open the gateway config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_gateway_config(ss.str(), path);
}

Result<std::shared_ptr<const DataProtection>> load_data_protection(const GatewayConfig& cfg) {
  if (cfg.data_key_file.empty()) return std::shared_ptr<const DataProtection>();
  return DataProtection::load(cfg.data_key_file, cfg.data_suite);
}

}  // namespace fathom::gateway
