// libFuzzer target for the gateway's YAML config (parse_gateway_config). An untrusted file must
// give a Status: no exception may escape, nothing may crash. A config it accepts must hold
// together (a disagreement traps): every model route and fallback names a pool, every pool has
// upstreams with http:// URLs (a serverless pool: none, and a sane instance and port range),
// every name and alias routes to its own entry, every duration is in 0 ms..a year, the breaker's
// error rate in (0, 1]; and the circuit breaker built from it must work through a few opens and
// closes without undefined behaviour. Its tenant and key policies must be consistent too.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/clock.h"
#include "gateway/circuit_breaker.h"
#include "gateway/config/gateway_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  using namespace fathom::gateway;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Result<GatewayConfig> r = parse_gateway_config(text, "fuzz.yaml");
  if (!r.ok()) {
    if (r.status().message().empty()) __builtin_trap();
    return 0;
  }
  const GatewayConfig& c = *r;
  if (c.pools.empty() || c.models.empty()) __builtin_trap();
  for (const auto& [name, pool] : c.pools) {
    if (!pool.fallback.empty() && !c.pools.count(pool.fallback)) __builtin_trap();
    // A serverless pool lists no upstreams: it runs workers on a port range of its own.
    if (const auto& s = pool.serverless) {
      if (!pool.upstreams.empty() || s->scaling.min_instances < 0 ||
          s->scaling.min_instances > s->scaling.max_instances || s->worker.port_from <= 0 ||
          s->worker.port_from > s->worker.port_to)
        __builtin_trap();
      continue;
    }
    if (pool.upstreams.empty()) __builtin_trap();
    for (const UpstreamConfig& u : pool.upstreams)
      if (u.url.rfind("http://", 0) != 0) __builtin_trap();
  }
  constexpr int64_t kYearMs = 365LL * 24 * 3600 * 1000;
  for (int64_t ms :
       {c.request_timeout_ms, c.first_byte_timeout_ms, c.idle_timeout_ms, c.keepalive_comment_ms,
        c.health_interval_ms, c.cache_ttl_ms, static_cast<int64_t>(c.breaker.window.count()),
        static_cast<int64_t>(c.breaker.sleep_window.count())})
    if (ms < 0 || ms > kYearMs) __builtin_trap();
  if (!(c.breaker.error_rate_threshold > 0 && c.breaker.error_rate_threshold <= 1))
    __builtin_trap();
  for (const ModelRoute& m : c.models) {
    if (!c.pools.count(m.pool) || c.route(m.name) != &m) __builtin_trap();
    for (const std::string& a : m.aliases)
      if (c.route(a) != &m) __builtin_trap();
  }
  // Tenant and key policies: a default model routes and its own lists allow it, bounds are
  // ordered within their ranges, a cap is positive, and content rules apply somewhere.
  for (const auto* specs : {&c.policies.tenants, &c.policies.keys})
    for (const auto& [name, p] : *specs) {
      if (p.default_model && !c.route(*p.default_model)) __builtin_trap();
      if (p.max_output_tokens && *p.max_output_tokens < 1) __builtin_trap();
      for (const auto& [b, hi] : {std::pair{&p.temperature, 2.0}, std::pair{&p.top_p, 1.0}})
        if (*b && !((*b)->min >= 0 && (*b)->min <= (*b)->max && (*b)->max <= hi)) __builtin_trap();
      if (!p.content.input && !p.content.output) __builtin_trap();
      if (p.system_prompt && p.system_prompt->text.empty()) __builtin_trap();
      const auto policy = policy::Policy::resolve(c.policies, name, name);
      if (p.default_model && !policy.allows_model({*p.default_model})) __builtin_trap();
    }

  // The clock moves by the config's own durations, capped at a day (time a breaker can see).
  auto capped = [](std::chrono::milliseconds d) {
    return std::chrono::milliseconds(std::clamp<int64_t>(d.count(), 0, 86'400'000));
  };
  FakeClock clock;
  CircuitBreaker breaker(c.breaker, clock);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 64 && breaker.allow(); ++i) breaker.record(Outcome::kFailure);
    (void)breaker.window_counts();
    clock.advance(capped(c.breaker.sleep_window));
    if (breaker.allow()) breaker.record(round == 1 ? Outcome::kFailure : Outcome::kSuccess);
    clock.advance(capped(c.breaker.window));
  }
  (void)breaker.state();
  return 0;
}
