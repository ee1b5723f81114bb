// Upstream pools: each upstream has a circuit breaker, an outstanding-request count and a
// health flag (active checks); a pool picks with its load-balancing policy among the eligible
// ones, excluding those this request already tried.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/circuit_breaker.h"
#include "gateway/config/gateway_config.h"
#include "gateway/lb/load_balancer.h"
#include "net/http_client.h"

namespace fathom::gateway {

/// The last 64 times to the response head of one upstream (ms), for a pool's p95 burst trigger.
class LatencyWindow {
 public:
  void add(double ms);
  void append_to(std::vector<double>& out) const;

 private:
  mutable std::mutex mu_;
  std::array<double, 64> ring_{};
  size_t size_ = 0, next_ = 0;
};

struct Upstream {
  Upstream(std::string id_, net::Url url_, std::string model_, const CircuitBreakerConfig& b, const Clock& clock)
      : id(std::move(id_)), url(std::move(url_)), model(std::move(model_)), breaker(b, clock) {}
  std::string id;     ///< "pool/host:port"
  net::Url url;
  std::string model;  ///< model name to send; empty = the client's
  CircuitBreaker breaker;
  std::atomic<int64_t> outstanding{0};
  std::atomic<bool> healthy{true};
  /// Health checks failed in a row (read and written by the health-check thread only).
  int64_t failed_probes = 0;
  /// The context window its model list reports (max_model_len); 0 until known.
  std::atomic<int64_t> max_model_len{0};
  /// Requests waiting in its scheduler as its /metrics said at the last health check; -1 unknown.
  std::atomic<int64_t> waiting{-1};
  LatencyWindow head_latency;
  std::atomic<int64_t> requests_total{0};
  std::atomic<int64_t> failures_total{0};
};

class UpstreamPool {
 public:
  static Result<std::unique_ptr<UpstreamPool>> create(const std::string& name, const PoolConfig& cfg,
                                                      const CircuitBreakerConfig& breaker, const Clock& clock);

  /// An eligible upstream not in `tried` whose breaker admits the request, or nullptr.
  Upstream* pick(std::string_view affinity_key, uint64_t random, const std::set<Upstream*>& tried);
  const std::string& name() const { return name_; }
  const std::string& fallback() const { return fallback_; }
  Zone zone() const { return cfg_.zone; }
  /// Why requests that are not sensitive should burst past this pool now (PoolConfig's burst
  /// triggers over its eligible upstreams: healthy, breaker not open), e.g. "3 in flight per
  /// upstream"; nullopt when none fires, or when no upstream is eligible (that is "down": the
  /// fallback rule applies).
  std::optional<std::string> burst_reason() const;
  /// Whether the health checks should read the upstreams' queue depth.
  bool wants_queue_depth() const { return cfg_.burst_max_waiting > 0; }
  const std::vector<std::unique_ptr<Upstream>>& upstreams() const { return upstreams_; }
  /// The largest context window among its upstreams; 0 when none is known.
  int64_t max_model_len() const;

 private:
  std::string name_;
  std::string fallback_;
  PoolConfig cfg_;  // zone and burst triggers
  std::unique_ptr<LoadBalancer> lb_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
};

}  // namespace fathom::gateway
