// `fathom gateway`: the OpenAI-compatible front door. Authenticates keys, enforces quotas,
// routes models to upstream pools (load balancing, breakers, health checks, retries before the
// first byte, fallback pools), passes streams through chunk by chunk, bills every request to
// the ledger, caches deterministic responses and reports it all on /metrics.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/clock.h"
#include "gateway/access_log.h"
#include "gateway/billing/ledger.h"
#include "gateway/config/gateway_config.h"
#include "gateway/gateway_metrics.h"
#include "gateway/proxy/upstream_pool.h"
#include "gateway/quota/quota_table.h"
#include "gateway/response_cache.h"
#include "gateway/security/admin_sessions.h"
#include "gateway/security/audit_log.h"
#include "gateway/security/key_store.h"
#include "gateway/serverless/pool_admin.h"
#include "net/http_server.h"
#include "net/stream_client.h"

namespace fathom::gateway {

/// What a config reload swaps as one unit.
struct Routing {
  GatewayConfig cfg;
  std::map<std::string, std::unique_ptr<UpstreamPool>> pools;
};

/// Serverless pools' clocks. `test_clock` (fathom gateway --test-clock only): the autoscalers
/// and prewarm schedules run on it, and POST /admin/test/clock advances it.
struct ServerlessClocks {
  FakeClock* test_clock = nullptr;
};

class GatewayService {
 public:
  static Result<std::unique_ptr<GatewayService>> create(GatewayConfig cfg, const Clock& clock,
                                                        ServerlessClocks serverless = {});
  ~GatewayService();

  Status start();
  uint16_t port() const;
  /// Replaces routes, pools, prices and limits; in-flight requests finish on the old ones.
  Status reload(GatewayConfig cfg);
  /// Re-reads the listener's TLS certificate and key (listen.tls) for new connections.
  Status reload_tls() { return server_ ? server_->reload_tls() : ok_status(); }
  /// The YAML file this gateway runs (shown masked and reloaded by the admin console).
  void set_config_path(std::string path) { config_path_ = std::move(path); }
  /// SIGHUP and POST /admin/config/reload: the TLS files, then the config file; a bad file
  /// keeps the running certificate or config and says why.
  Status reload_from_file();
  void stop();

  // Shared with ProxyCall (one proxied request).
  std::shared_ptr<const Routing> routing() const;
  net::StreamClient& client() { return *client_; }
  QuotaBackend& quota() { return *quota_; }
  Ledger& ledger() { return *ledger_; }
  AuditLog& audit() { return *audit_; }
  const DataProtection* protection() const { return protection_.get(); }
  AccessLog& access_log() { return *access_log_; }
  GatewayMetrics& metrics() { return metrics_; }
  ResponseCache& cache() { return *cache_; }
  /// The serverless pool named `pool`; nullptr for other pools.
  WorkerPool* worker_pool(const std::string& pool) const;
  const Clock& clock() const { return clock_; }
  /// Counts a retry against the budget; false when the budget is spent.
  bool take_retry(double budget_ratio);
  /// Tokens the tenant used this month before now; add `tokens` after.
  int64_t monthly_tokens(const std::string& tenant, int64_t add);
  uint64_t next_random();
  /// A request id unique across replicas: "<key id>-<process tag>-<counter>".
  std::string next_request_id(const std::string& key_id);

 private:
  GatewayService(GatewayConfig cfg, const Clock& clock) : clock_(clock), first_cfg_(std::move(cfg)) {}
  static Result<std::shared_ptr<Routing>> build_routing(GatewayConfig cfg, const Clock& clock);
  void apply_limits(const GatewayConfig& cfg);
  void handle(std::shared_ptr<net::Exchange> ex);
  std::optional<net::HttpResponse> route(const std::shared_ptr<net::Exchange>& ex, AccessRecord& rec);
  net::HttpResponse handle_admin(const net::HttpRequest& req, const KeyInfo& key);
  /// The admin API's second factor and lockout; nullopt when the call may proceed.
  std::optional<net::HttpResponse> check_admin_factors(const net::HttpRequest& req,
                                                       const KeyInfo& key);
  /// POST /admin/session (the console's login) and DELETE /admin/session; nullopt for other paths.
  std::optional<net::HttpResponse> admin_session_route(const net::HttpRequest& req,
                                                       const KeyInfo& key);
  Result<KeyInfo> authenticate(const net::HttpRequest& req);
  Status create_worker_pools(const GatewayConfig& cfg);
  /// One pass of active health checks (and each upstream's context window, once known).
  void check_upstreams(const Routing& r);
  void health_loop();

  const Clock& clock_;
  GatewayConfig first_cfg_;
  std::string config_path_;
  mutable std::mutex routing_mu_;
  std::shared_ptr<const Routing> routing_;
  std::shared_ptr<const DataProtection> protection_;  // null: data_protection is off
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Lockout> admin_lockout_;  // configured at start (a reload keeps it)
  std::unique_ptr<AdminSessions> admin_sessions_;  // the operator console's logins
  std::mutex otp_mu_;
  std::map<std::string, int64_t> last_otp_step_;  // admin key id -> last accepted TOTP step
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<QuotaBackend> quota_;
  std::unique_ptr<ResponseCache> cache_;
  std::shared_ptr<net::IoPool> io_;  // the server's and the upstream client's loops
  std::unique_ptr<net::StreamClient> client_;
  std::unique_ptr<net::HttpServer> server_;
  GatewayMetrics metrics_;
  WorkerPools worker_pools_;  // created at start; a reload keeps them
  FakeClock* test_clock_ = nullptr;
  std::atomic<int64_t> requests_{0}, retries_{0};
  std::atomic<uint64_t> random_state_{0x9e3779b97f4a7c15ull};
  std::string process_tag_;
  std::atomic<uint64_t> request_seq_{0};
  std::mutex month_mu_;
  std::map<std::string, int64_t> month_tokens_;
  std::string month_;
  std::thread health_thread_;
  std::mutex health_mu_;
  std::condition_variable health_cv_;
  bool stopping_ = false;
};

}  // namespace fathom::gateway
