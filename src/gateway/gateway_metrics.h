// Everything the gateway reports on /metrics (Prometheus text format): requests by route,
// model, status and tenant; latency with the gateway's own overhead apart from upstream time;
// time to first token; token and cost counters; upstream health and breaker state; cache hits;
// quota and authentication rejections.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/histogram.h"
#include "gateway/billing/ledger.h"

namespace fathom::gateway {

struct Upstream;

struct RequestSample {
  std::string route, model, tenant;
  int status = 0;
  double total_s = 0;     ///< client-observed, first byte in to last byte out
  double upstream_s = 0;  ///< time spent waiting on upstreams
  std::optional<double> ttft_s;
  int64_t prompt_tokens = 0, completion_tokens = 0, cost_nanos = 0;
  bool cache_hit = false;
};

/// Connection counts, from the HTTP server and the upstream client.
struct ConnectionStats {
  int64_t client_open = 0, in_flight = 0, upstream_opened = 0, upstream_reused = 0;
};

class GatewayMetrics {
 public:
  GatewayMetrics();
  void record(const RequestSample& s);
  void auth_failed();
  void quota_rejected(const std::string& tenant, const std::string& limit);
  void retried();
  /// One policy refusal or cut (fathom_gateway_policy_actions_total{tenant, action}): action is
  /// the refusal's code or field (content_policy_violation, max_tokens, temperature, ...) or
  /// output_filtered.
  void policy_action(const std::string& tenant, const std::string& action);
  /// One request classified (fathom_gateway_requests_classified_total{sensitive}).
  void classified(bool sensitive);
  /// One routing decision (fathom_gateway_routed_total{zone, decision}): decision is primary,
  /// fallback, burst or sensitive (the route's first word).
  void routed(const std::string& zone, const std::string& decision);
  std::string render(const std::vector<const Upstream*>& upstreams, const ConnectionStats& conns,
                     const LedgerBacklog& ledger, int64_t now_ms) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> requests_;  // rendered label set -> count
  std::map<std::string, int64_t> tokens_;
  std::map<std::string, int64_t> cost_nanos_;
  std::map<std::string, int64_t> quota_rejections_;
  std::map<std::string, int64_t> routed_;
  std::map<std::string, int64_t> policy_actions_;
  int64_t auth_failures_ = 0, cache_hits_ = 0, retries_ = 0;
  int64_t classified_[2] = {0, 0};  // [not sensitive, sensitive]
  Histogram total_, overhead_, upstream_, ttft_;
};

}  // namespace fathom::gateway
