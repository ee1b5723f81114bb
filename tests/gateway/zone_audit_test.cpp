// Hybrid cloud: pool zones and bursting in the config, the pool's saturation rule, and the
// zone audit that proves from the audit log and the ledger that no sensitive request was
// served in a cloud zone.
#include "gateway/security/zone_audit.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "gateway/proxy/upstream_pool.h"

namespace fathom::gateway {
namespace {

constexpr const char* kHybrid = R"yaml(
pools:
  local:
    upstreams: [{url: http://127.0.0.1:8001}, {url: http://127.0.0.1:8002}]
    burst: {max_in_flight: 2}
    fallback: cloud
  cloud:
    zone: cloud
    upstreams: [{url: http://127.0.0.1:8003}]
models:
  - {name: m, pool: local}
)yaml";

GatewayConfig hybrid() {
  auto c = parse_gateway_config(kHybrid, "gw.yaml");
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return *c;
}

TEST(HybridConfigTest, PoolsCarryAZoneAndABurstThreshold) {
  const GatewayConfig c = hybrid();
  EXPECT_EQ(c.pools.at("local").zone, Zone::kOnPrem);  // the default
  EXPECT_EQ(c.pools.at("local").burst_max_in_flight, 2);
  EXPECT_EQ(c.pools.at("cloud").zone, Zone::kCloud);
}

TEST(HybridConfigTest, ABadZoneOrABurstWithNowhereToGoIsRefused) {
  auto bad = parse_gateway_config(R"yaml(
pools:
  a: {zone: moon, upstreams: [{url: http://h:1}]}
  b: {burst: {max_in_flight: 3}, upstreams: [{url: http://h:2}]}
  c: {burst: {max_in_flight: -1, queue: 2}, fallback: a, upstreams: [{url: http://h:3}]}
  d: {burst: {p95_ms: 2000}, upstreams: [{url: http://h:4}]}
models: [{name: m, pool: a}]
)yaml",
                                  "gw.yaml");
  ASSERT_FALSE(bad.ok());
  const std::string m = bad.status().message();
  EXPECT_NE(m.find("pools.a.zone: must be on_prem or cloud"), std::string::npos) << m;
  EXPECT_NE(m.find("pools.b.burst: needs a fallback pool"), std::string::npos) << m;
  EXPECT_NE(m.find("pools.c.burst.max_in_flight"), std::string::npos) << m;
  EXPECT_NE(m.find("pools.c.burst.queue"), std::string::npos) << m;
  EXPECT_NE(m.find("pools.d.burst: needs a fallback pool"), std::string::npos) << m;
}

TEST(UpstreamPoolTest, BurstsWhenEveryEligibleUpstreamIsAtTheInFlightThreshold) {
  const GatewayConfig c = hybrid();
  FakeClock clock;
  auto pool = UpstreamPool::create("local", c.pools.at("local"), c.breaker, clock);
  ASSERT_TRUE(pool.ok());
  auto& ups = (*pool)->upstreams();
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);
  ups[0]->outstanding = 2;
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);  // the second still has room
  ups[1]->outstanding = 3;
  EXPECT_EQ((*pool)->burst_reason(), "2 in flight per upstream");
  ups[0]->healthy = false;  // only the eligible count: still saturated
  EXPECT_EQ((*pool)->burst_reason(), "3 in flight per upstream");
  ups[1]->healthy = false;  // none eligible: down, not saturated (the fallback rule applies)
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);
}

TEST(UpstreamPoolTest, BurstsOnTheUpstreamsQueueDepthAndOnTheRecentP95) {
  PoolConfig cfg = hybrid().pools.at("local");
  cfg.burst_max_in_flight = 0;
  cfg.burst_max_waiting = 4;
  cfg.burst_p95_ms = 500;
  FakeClock clock;
  auto pool = UpstreamPool::create("local", cfg, CircuitBreakerConfig{}, clock);
  ASSERT_TRUE(pool.ok());
  auto& ups = (*pool)->upstreams();
  EXPECT_TRUE((*pool)->wants_queue_depth());
  ups[0]->waiting = 9;
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);  // the other's depth is unknown
  ups[1]->waiting = 4;
  EXPECT_EQ((*pool)->burst_reason(), "4 waiting per upstream");
  ups[1]->waiting = 1;
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);

  for (int i = 0; i < 7; ++i) ups[0]->head_latency.add(900);
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);  // 7 samples: too few to judge
  for (int i = 0; i < 13; ++i) ups[1]->head_latency.add(100);
  EXPECT_EQ((*pool)->burst_reason(), "p95 900 ms to the first byte > 500 ms");  // 7 of 20 slow
  for (int i = 0; i < 64; ++i) ups[0]->head_latency.add(100);  // the window keeps the last 64
  EXPECT_EQ((*pool)->burst_reason(), std::nullopt);            // the slow ones aged out
}

// A record as the gateway writes it (sensitive_route_details), so the reader is tested on the
// writer's own output.
nlohmann::json audit_record(int64_t seq, const std::string& time, const std::string& request_id,
                            const std::string& upstream, const std::string& zone,
                            bool redacted = false) {
  classify::Classification c;
  c.sensitive = true;
  const SensitiveRoute r{.request_id = request_id,
                         .tenant = "acme",
                         .upstream = upstream,
                         .zone = zone,
                         .status = 200,
                         .redacted = redacted};
  return {{"seq", seq},
          {"time", time},
          {"event", kSensitiveRouteEvent},
          {"details", sensitive_route_details(r, "key1", "m", c)}};
}

UsageRecord row(const std::string& request_id, const std::string& upstream) {
  UsageRecord r;
  r.request_id = request_id;
  r.tenant = "acme";
  r.upstream = upstream;
  return r;
}

TEST(ZoneAuditTest, ReadsTheMonthsSensitiveRoutes) {
  const std::vector<nlohmann::json> records = {
      audit_record(0, "2026-11-30T23:59:59.999Z", "r0", "local/127.0.0.1:8001", "on_prem"),
      {{"seq", 1}, {"time", "2026-12-01T00:00:00.000Z"}, {"event", "key.created"}, {"details", {}}},
      audit_record(2, "2026-12-01T00:00:01.000Z", "r1", "local/127.0.0.1:8001", "on_prem"),
      {{"seq", 3},
       {"time", "2026-12-02T00:00:00.000Z"},
       {"event", "route.sensitive"},
       {"details", "lies"}}};
  const auto routes = sensitive_routes(records, "2026-12");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].request_id, "r1");
  EXPECT_EQ(routes[0].seq, 2);
  EXPECT_EQ(routes[0].status, 200);
}

TEST(ZoneAuditTest, AgreeingRecordsProveNothingWentToTheCloud) {
  const GatewayConfig c = hybrid();
  const auto routes = sensitive_routes(
      {audit_record(0, "2026-12-01T00:00:00Z", "r1", "local/127.0.0.1:8001", "on_prem"),
       audit_record(1, "2026-12-01T00:00:01Z", "", "cache", "on_prem"),
       audit_record(2, "2026-12-01T00:00:02Z", "r3", "", ""),
       audit_record(3, "2026-12-01T00:00:03Z", "r4", "local/127.0.0.1:8002", "on_prem")},
      "2026-12");
  const ZoneReport z = check_zones(
      routes, {row("r1", "local/127.0.0.1:8001"), row("other", "cloud/127.0.0.1:8003")}, c);
  EXPECT_TRUE(z.ok());
  EXPECT_EQ(z.sensitive, 4);
  EXPECT_EQ(z.on_prem, 1);
  EXPECT_EQ(z.from_cache, 1);
  EXPECT_EQ(z.not_served, 1);
  EXPECT_EQ(z.unmatched, 1);  // r4: no ledger row yet
}

TEST(ZoneAuditTest, ACloudZoneADoctoredLedgerOrACloudPoolIsAViolation) {
  const GatewayConfig c = hybrid();
  const auto routes = sensitive_routes(
      {audit_record(0, "2026-12-01T00:00:00Z", "r1", "cloud/127.0.0.1:8003", "cloud"),
       audit_record(1, "2026-12-01T00:00:01Z", "r2", "local/127.0.0.1:8001", "on_prem"),
       audit_record(2, "2026-12-01T00:00:02Z", "r3", "cloud/127.0.0.1:8003", "on_prem")},
      "2026-12");
  // r2's ledger row was edited to name the cloud upstream.
  const ZoneReport z = check_zones(routes, {row("r2", "cloud/127.0.0.1:8003")}, c);
  ASSERT_EQ(z.violations.size(), 3u);
  EXPECT_NE(z.violations[0].find("served in the cloud zone"), std::string::npos);
  EXPECT_NE(z.violations[1].find("the ledger says upstream cloud/127.0.0.1:8003"),
            std::string::npos);
  EXPECT_NE(z.violations[1].find("(a cloud pool)"), std::string::npos);
  EXPECT_NE(z.violations[2].find("belongs to a cloud pool"), std::string::npos);
}

TEST(ZoneAuditTest, ARedactedRequestMayHaveBeenServedInTheCloud) {
  const GatewayConfig c = hybrid();
  const auto routes = sensitive_routes(
      {audit_record(0, "2026-12-01T00:00:00Z", "r1", "cloud/127.0.0.1:8003", "cloud", true),
       audit_record(1, "2026-12-01T00:00:01Z", "r2", "cloud/127.0.0.1:8003", "cloud", false)},
      "2026-12");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_TRUE(routes[0].redacted);
  const ZoneReport z = check_zones(routes, {row("r1", "cloud/127.0.0.1:8003")}, c);
  EXPECT_EQ(z.redacted, 1);
  ASSERT_EQ(z.violations.size(), 1u);  // the one that was not redacted
  EXPECT_NE(z.violations[0].find("request r2"), std::string::npos);
}

}  // namespace
}  // namespace fathom::gateway
