// Upstream pools: each upstream has a circuit breaker, an outstanding-request count and a
// health flag (active checks); a pool picks with its load-balancing policy among the eligible
// ones, excluding those this request already tried.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gateway/circuit_breaker.h"
#include "gateway/config/gateway_config.h"
#include "gateway/lb/load_balancer.h"
#include "net/http_client.h"

namespace fathom::gateway {

struct Upstream {
  Upstream(std::string id_, net::Url url_, std::string model_, const CircuitBreakerConfig& b, const Clock& clock)
      : id(std::move(id_)), url(std::move(url_)), model(std::move(model_)), breaker(b, clock) {}
  std::string id;     ///< "pool/host:port"
  net::Url url;
  std::string model;  ///< model name to send; empty = the client's
  CircuitBreaker breaker;
  std::atomic<int64_t> outstanding{0};
  std::atomic<bool> healthy{true};
  /// The context window its model list reports (max_model_len); 0 until known.
  std::atomic<int64_t> max_model_len{0};
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
  Zone zone() const { return zone_; }
  /// Burst condition: a threshold is set and every eligible upstream (healthy, breaker not
  /// open) has that many requests in flight; `in_flight` gets the least of them.
  bool saturated(int64_t* in_flight = nullptr) const;
  const std::vector<std::unique_ptr<Upstream>>& upstreams() const { return upstreams_; }
  /// The largest context window among its upstreams; 0 when none is known.
  int64_t max_model_len() const;

 private:
  std::string name_;
  std::string fallback_;
  Zone zone_ = Zone::kOnPrem;
  int64_t burst_max_in_flight_ = 0;
  std::unique_ptr<LoadBalancer> lb_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
};

}  // namespace fathom::gateway
