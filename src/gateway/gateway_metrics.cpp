#include "gateway/gateway_metrics.h"

#include <algorithm>
#include <cstdio>

#include "gateway/proxy/upstream_pool.h"

namespace fathom::gateway {
namespace {

std::string escape(std::string v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void render_histogram(std::string& out, const char* name, const char* help, const HistogramSnapshot& h) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cum = 0;
  char buf[64];
  for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
    cum += h.bucket_counts[i];
    std::snprintf(buf, sizeof(buf), "%g", h.upper_bounds[i]);
    out += std::string(name) + "_bucket{le=\"" + buf + "\"} " + std::to_string(cum) + "\n";
  }
  cum += h.bucket_counts.back();
  out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
  std::snprintf(buf, sizeof(buf), "%.9g", h.sum);
  out += std::string(name) + "_sum " + buf + "\n" + name + "_count " + std::to_string(h.count) + "\n";
}

void render_counter(std::string& out, const char* name, const char* help, const std::map<std::string, int64_t>& m) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  for (const auto& [labels, v] : m) out += std::string(name) + "{" + labels + "} " + std::to_string(v) + "\n";
}

void render_value(std::string& out, const char* name, const char* type, const char* help, int64_t v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(v) + "\n";
}

}  // namespace

GatewayMetrics::GatewayMetrics()
    : total_(Histogram::latency_buckets()),
      overhead_({0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}),
      upstream_(Histogram::latency_buckets()),
      ttft_(Histogram::latency_buckets()) {}

void GatewayMetrics::record(const RequestSample& s) {
  total_.observe(s.total_s);
  upstream_.observe(s.upstream_s);
  overhead_.observe(std::max(0.0, s.total_s - s.upstream_s));
  if (s.ttft_s) ttft_.observe(*s.ttft_s);
  const std::string mt = "model=\"" + escape(s.model) + "\",tenant=\"" + escape(s.tenant) + "\"";
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_["route=\"" + escape(s.route) + "\"," + mt + ",status=\"" + std::to_string(s.status) + "\""];
  tokens_[mt + ",kind=\"prompt\""] += s.prompt_tokens;
  tokens_[mt + ",kind=\"completion\""] += s.completion_tokens;
  cost_nanos_[mt] += s.cost_nanos;
  if (s.cache_hit) ++cache_hits_;
}

void GatewayMetrics::auth_failed() {
  std::lock_guard<std::mutex> lock(mu_);
  ++auth_failures_;
}

void GatewayMetrics::quota_rejected(const std::string& tenant, const std::string& limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ++quota_rejections_["tenant=\"" + escape(tenant) + "\",limit=\"" + escape(limit) + "\""];
}

void GatewayMetrics::policy_action(const std::string& tenant, const std::string& action) {
  std::lock_guard<std::mutex> lock(mu_);
  ++policy_actions_["tenant=\"" + escape(tenant) + "\",action=\"" + escape(action) + "\""];
}

void GatewayMetrics::retried() {
  std::lock_guard<std::mutex> lock(mu_);
  ++retries_;
}

void GatewayMetrics::classified(bool sensitive) {
  std::lock_guard<std::mutex> lock(mu_);
  ++classified_[sensitive ? 1 : 0];
}

void GatewayMetrics::routed(const std::string& zone, const std::string& decision) {
  std::lock_guard<std::mutex> lock(mu_);
  ++routed_["zone=\"" + zone + "\",decision=\"" + decision + "\""];
}

std::string GatewayMetrics::render(const std::vector<const Upstream*>& upstreams,
                                   const ConnectionStats& conns, const LedgerBacklog& ledger,
                                   int64_t now_ms) const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    render_counter(out, "fathom_gateway_requests_total", "Requests by route, model, tenant and status.", requests_);
    render_counter(out, "fathom_gateway_tokens_total", "Tokens billed, by kind.", tokens_);
    render_counter(out, "fathom_gateway_cost_nanos_total", "Cost billed in nano-units of the currency.", cost_nanos_);
    render_counter(out, "fathom_gateway_quota_rejections_total", "Requests refused by a quota.", quota_rejections_);
    render_value(out, "fathom_gateway_auth_failures_total", "counter",
                 "Requests with a missing, unknown, revoked or expired key.", auth_failures_);
    render_value(out, "fathom_gateway_cache_hits_total", "counter", "Responses served from the response cache.",
                 cache_hits_);
    render_value(out, "fathom_gateway_retries_total", "counter",
                 "Attempts on another upstream before the answer's first byte.", retries_);
    render_counter(
        out, "fathom_gateway_requests_classified_total",
        "Requests classified by sensitivity (when classification is on).",
        {{"sensitive=\"false\"", classified_[0]}, {"sensitive=\"true\"", classified_[1]}});
    render_counter(out, "fathom_gateway_routed_total",
                   "Requests sent upstream, by zone and routing decision (primary, fallback, "
                   "burst, sensitive).",
                   routed_);
    render_counter(out, "fathom_gateway_policy_actions_total",
                   "Requests refused or answers cut by a tenant or key policy.", policy_actions_);
  }
  render_value(
      out, "fathom_gateway_ledger_pending_rows", "gauge",
      "Usage rows acknowledged (in the journal) but not yet moved into the ledger database.",
      ledger.rows);
  render_value(
      out, "fathom_gateway_ledger_oldest_pending_age_seconds", "gauge",
      "Age of the oldest such row (0 when none): the ledger mover's lag.",
      ledger.oldest_time_ms > 0 ? std::max<int64_t>(0, now_ms - ledger.oldest_time_ms) / 1000 : 0);
  render_value(out, "fathom_gateway_client_connections", "gauge", "Open client connections.", conns.client_open);
  render_value(out, "fathom_gateway_requests_in_flight", "gauge", "Requests (and streams) not yet answered in full.",
               conns.in_flight);
  render_value(out, "fathom_gateway_upstream_connections_opened_total", "counter",
               "TCP connections opened to upstreams.", conns.upstream_opened);
  render_value(out, "fathom_gateway_upstream_requests_reused_total", "counter",
               "Upstream requests sent on a kept-alive connection.", conns.upstream_reused);
  render_histogram(out, "fathom_gateway_request_duration_seconds", "Client-observed request time.", total_.snapshot());
  render_histogram(out, "fathom_gateway_overhead_seconds", "Request time not spent waiting on upstreams.",
                   overhead_.snapshot());
  render_histogram(out, "fathom_gateway_upstream_duration_seconds", "Time spent waiting on upstreams.",
                   upstream_.snapshot());
  render_histogram(out, "fathom_gateway_time_to_first_token_seconds", "Streams: time to the first token chunk.",
                   ttft_.snapshot());
  out += "# HELP fathom_gateway_upstream_healthy 1 when the upstream passes its active health check.\n"
         "# TYPE fathom_gateway_upstream_healthy gauge\n";
  for (const Upstream* u : upstreams)
    out += "fathom_gateway_upstream_healthy{upstream=\"" + escape(u->id) + "\"} " + (u->healthy ? "1" : "0") + "\n";
  out += "# HELP fathom_gateway_upstream_breaker_state 0 closed, 1 open, 2 half-open.\n"
         "# TYPE fathom_gateway_upstream_breaker_state gauge\n";
  for (const Upstream* u : upstreams)
    out += "fathom_gateway_upstream_breaker_state{upstream=\"" + escape(u->id) + "\"} " +
           std::to_string(static_cast<int>(u->breaker.state())) + "\n";
  out += "# HELP fathom_gateway_upstream_outstanding Requests in flight to the upstream.\n"
         "# TYPE fathom_gateway_upstream_outstanding gauge\n";
  for (const Upstream* u : upstreams)
    out += "fathom_gateway_upstream_outstanding{upstream=\"" + escape(u->id) + "\"} " +
           std::to_string(u->outstanding.load()) + "\n";
  return out;
}

}  // namespace fathom::gateway
