// `fathom gateway --config gateway.yaml`: one YAML file, validated with errors that name the
// field (e.g. "pools.local.upstreams[0].url: ..."), every problem reported at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "gateway/billing/ledger.h"
#include "gateway/billing/price_table.h"
#include "gateway/circuit_breaker.h"
#include "gateway/classify/classifier.h"
#include "gateway/policy/policy.h"
#include "gateway/quota/quota_table.h"
#include "gateway/security/audit_log.h"
#include "gateway/security/data_protection.h"
#include "gateway/security/lockout.h"
#include "gateway/serverless/serverless_config.h"
#include "net/tls_context.h"

namespace fathom::gateway {

struct UpstreamConfig {
  std::string url;    ///< http://host:port
  std::string model;  ///< model name to send upstream; empty = the client's model name
  net::TlsClientConfig tls;  ///< https only: CA file, client certificate, pins
};

/// Where a pool's upstreams run (hybrid cloud): a request classified sensitive is only ever
/// served by on_prem pools.
enum class Zone { kOnPrem, kCloud };
const char* zone_name(Zone z);

struct PoolConfig {
  std::string policy = "least_outstanding";
  std::vector<UpstreamConfig> upstreams;
  std::string fallback;  ///< another pool to try when this one has no eligible upstream
  Zone zone = Zone::kOnPrem;
  /// Burst: requests that are not sensitive go to the fallback pool (the cloud) first while
  /// every eligible upstream has at least `burst_max_in_flight` requests in flight from us, or
  /// reports at least `burst_max_waiting` queued in its /metrics (num_requests_waiting, read by
  /// the health checks), or while the pool's recent p95 time to the response head is over
  /// `burst_p95_ms`. 0 turns each trigger off.
  int64_t burst_max_in_flight = 0;
  int64_t burst_max_waiting = 0;
  int64_t burst_p95_ms = 0;
  bool bursts() const {
    return burst_max_in_flight > 0 || burst_max_waiting > 0 || burst_p95_ms > 0;
  }
  /// `kind: serverless`: the gateway runs the pool's workers itself (no upstreams listed).
  std::optional<ServerlessConfig> serverless;
};

struct ModelRoute {
  std::string name;
  std::vector<std::string> aliases;
  std::string pool;
};

/// The admin API's protection (MLPS level 3): a second factor and lockout.
struct AdminSecurityConfig {
  /// Admin key id -> its TOTP key (decoded from base32). When any is set, every admin call needs
  /// `x-fathom-otp` with the current code of its key (keys without a secret are refused).
  std::map<std::string, std::string> totp_keys;
  LockoutConfig lockout;
  bool second_factor() const { return !totp_keys.empty(); }
};

struct GatewayConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  net::TlsServerConfig tls;  ///< listen.tls: {cert, key, client_ca}; plain HTTP when absent
  int num_io_threads = 2;
  std::string data_dir = "fathom-gateway-data";
  std::string keys_db;    ///< default data_dir/keys.db
  AdminSecurityConfig admin;
  AuditHash audit_hash = AuditHash::kSha256;  ///< audit_hash: sha256 | sm3 (new records)
  std::string ledger_db;  ///< default data_dir/ledger.db
  std::string ledger_postgres;  ///< libpq conninfo; when set, the ledger lives in PostgreSQL (not ledger_db)
  LedgerSync ledger_sync = LedgerSync::kNormal;  ///< see LedgerSync
  std::string audit_log;  ///< default data_dir/audit.jsonl
  AuditRotation audit_rotation;       ///< audit_rotation: {max_bytes, max_age_days, retain_days}
  /// data_protection: {key_file, suite: aes | sm4}; no key file: rows are not sealed and the
  /// Redis cache is not encrypted.
  std::string data_key_file;
  DataSuite data_suite = DataSuite::kAes;
  std::string access_log = "stdout";  ///< stdout | stderr | off | a file (JSON lines)
  std::optional<std::pair<std::string, int>> redis;  ///< host, port
  int64_t request_timeout_ms = 600'000;
  int64_t first_byte_timeout_ms = 120'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t keepalive_comment_ms = 15'000;  ///< SSE ": keep-alive" while waiting for the first token
  int64_t max_body_bytes = 4 << 20;
  std::vector<std::string> cors_allowed_origins;  ///< cors.allowed_origins ("*": any); empty: no CORS
  int32_t max_attempts = 2;               ///< per request, across upstreams, before the first byte
  double retry_budget_ratio = 0.2;        ///< retries allowed as a fraction of requests
  CircuitBreakerConfig breaker;
  int64_t health_interval_ms = 5'000;
  /// Consecutive failed health checks before an upstream leaves its pool (one success brings it
  /// back): one slow probe of a busy upstream must not empty the pool.
  int64_t health_unhealthy_threshold = 3;
  std::map<std::string, PoolConfig> pools;
  std::vector<ModelRoute> models;
  PriceTable prices;
  std::map<std::string, QuotaLimits> tenant_limits;
  QuotaLimits default_key_limits;
  bool cache_enabled = true;
  std::string cache_backend = "auto";  ///< memory | redis | auto (redis when `redis` is set)
  int64_t cache_max_entries = 10'000;
  int64_t cache_ttl_ms = 300'000;
  classify::ClassificationConfig classification;  ///< off unless the section is present
  policy::PoliciesConfig policies;  ///< per tenant and key; none unless the section is present

  bool cache_in_redis() const { return cache_backend == "redis" || (cache_backend == "auto" && redis); }
  /// Pool name for a client's model name or alias; nullptr when unknown.
  const ModelRoute* route(const std::string& model) const;
};

Result<GatewayConfig> parse_gateway_config(const std::string& yaml_text, const std::string& source);
Result<GatewayConfig> load_gateway_config(const std::string& path);

/// The configured data protection (its key file read now); nullptr without data_protection.
Result<std::shared_ptr<const DataProtection>> load_data_protection(const GatewayConfig& cfg);

}  // namespace fathom::gateway
