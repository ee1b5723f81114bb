#include "gateway/proxy/upstream_pool.h"

#include <algorithm>

namespace fathom::gateway {

Result<std::unique_ptr<UpstreamPool>> UpstreamPool::create(const std::string& name, const PoolConfig& cfg,
                                                           const CircuitBreakerConfig& breaker,
                                                           const Clock& clock) {
  auto pool = std::make_unique<UpstreamPool>();
  pool->name_ = name;
  pool->fallback_ = cfg.fallback;
  pool->cfg_ = cfg;
  FATHOM_ASSIGN_OR_RETURN(pool->lb_, make_load_balancer(cfg.policy));
  for (const UpstreamConfig& u : cfg.upstreams) {
    FATHOM_ASSIGN_OR_RETURN(net::Url url, net::parse_url(u.url));
    if (url.https) {  // CA, client certificate and pins read now: a bad file fails the load
      auto tls = net::make_tls_client_context(u.tls);
      if (!tls.ok())
        return tls.status().with_context("pools." + name + ": upstream " + u.url + ": tls");
      url.tls = *tls;
    }
    const std::string id = name + "/" + url.host + ":" + std::to_string(url.port);
    pool->upstreams_.push_back(std::make_unique<Upstream>(id, url, u.model, breaker, clock));
  }
  return pool;
}

Upstream* UpstreamPool::pick(std::string_view affinity_key, uint64_t random, const std::set<Upstream*>& tried) {
  std::vector<EndpointView> views;
  views.reserve(upstreams_.size());
  for (const auto& u : upstreams_) {
    // Breaker state is read without taking a probe slot; allow() below takes it.
    const bool open = u->breaker.state() == BreakerState::kOpen;
    views.push_back({u->id, u->outstanding.load(), u->healthy.load() && !open && !tried.count(u.get())});
  }
  for (size_t attempt = 0; attempt < upstreams_.size(); ++attempt) {
    const auto idx = lb_->pick(views, {affinity_key, random + attempt});
    if (!idx) return nullptr;
    Upstream* u = upstreams_[*idx].get();
    if (u->breaker.allow()) return u;
    views[*idx].eligible = false;  // half-open with its probe already out
  }
  return nullptr;
}

void LatencyWindow::add(double ms) {
  std::lock_guard<std::mutex> lock(mu_);
  ring_[next_] = ms;
  next_ = (next_ + 1) % ring_.size();
  size_ = std::min(size_ + 1, ring_.size());
}

void LatencyWindow::append_to(std::vector<double>& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out.insert(out.end(), ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(size_));
}

std::optional<std::string> UpstreamPool::burst_reason() const {
  if (!cfg_.bursts()) return std::nullopt;
  int64_t least_in_flight = -1, least_waiting = -1;
  bool any = false, waiting_known = true;
  std::vector<double> latencies;
  for (const auto& u : upstreams_) {
    if (!u->healthy.load() || u->breaker.state() == BreakerState::kOpen) continue;
    any = true;
    const int64_t n = u->outstanding.load(), w = u->waiting.load();
    if (least_in_flight < 0 || n < least_in_flight) least_in_flight = n;
    if (w < 0)
      waiting_known = false;
    else if (least_waiting < 0 || w < least_waiting)
      least_waiting = w;
    u->head_latency.append_to(latencies);
  }
  if (!any) return std::nullopt;
  if (cfg_.burst_max_in_flight > 0 && least_in_flight >= cfg_.burst_max_in_flight)
    return std::to_string(least_in_flight) + " in flight per upstream";
  if (cfg_.burst_max_waiting > 0 && waiting_known && least_waiting >= cfg_.burst_max_waiting)
    return std::to_string(least_waiting) + " waiting per upstream";
  if (cfg_.burst_p95_ms > 0 && latencies.size() >= 8) {  // too few samples say nothing
    const size_t k = (latencies.size() * 95 + 99) / 100 - 1;
    std::nth_element(latencies.begin(), latencies.begin() + static_cast<std::ptrdiff_t>(k),
                     latencies.end());
    const int64_t p95 = static_cast<int64_t>(latencies[k]);
    if (p95 > cfg_.burst_p95_ms)
      return "p95 " + std::to_string(p95) + " ms to the first byte > " +
             std::to_string(cfg_.burst_p95_ms) + " ms";
  }
  return std::nullopt;
}

int64_t UpstreamPool::max_model_len() const {
  int64_t most = 0;
  for (const auto& u : upstreams_) most = std::max(most, u->max_model_len.load());
  return most;
}

}  // namespace fathom::gateway
