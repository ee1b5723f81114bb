#include "gateway/proxy/upstream_pool.h"

#include <algorithm>

namespace fathom::gateway {

Result<std::unique_ptr<UpstreamPool>> UpstreamPool::create(const std::string& name, const PoolConfig& cfg,
                                                           const CircuitBreakerConfig& breaker,
                                                           const Clock& clock) {
  auto pool = std::make_unique<UpstreamPool>();
  pool->name_ = name;
  pool->fallback_ = cfg.fallback;
  pool->zone_ = cfg.zone;
  pool->burst_max_in_flight_ = cfg.burst_max_in_flight;
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

bool UpstreamPool::saturated(int64_t* in_flight) const {
  if (burst_max_in_flight_ <= 0) return false;
  int64_t least = -1;
  for (const auto& u : upstreams_) {
    if (!u->healthy.load() || u->breaker.state() == BreakerState::kOpen) continue;
    const int64_t n = u->outstanding.load();
    if (least < 0 || n < least) least = n;
  }
  if (in_flight) *in_flight = std::max<int64_t>(least, 0);
  return least >= burst_max_in_flight_;  // no eligible upstream (-1) is "down", not saturated
}

int64_t UpstreamPool::max_model_len() const {
  int64_t most = 0;
  for (const auto& u : upstreams_) most = std::max(most, u->max_model_len.load());
  return most;
}

}  // namespace fathom::gateway
