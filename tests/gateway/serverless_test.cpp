// Serverless pools: the KPA autoscaler replayed on recorded traces, prewarm windows and
// prediction, per_compute billing, the config, and the local process actuator on real processes.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>
#include <vector>

#include "gateway/billing/price_table.h"
#include "gateway/billing/report.h"
#include "gateway/config/gateway_config.h"
#include "gateway/serverless/actuator.h"
#include "gateway/serverless/autoscaler.h"
#include "gateway/serverless/prewarm.h"

namespace fathom::gateway {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One second of a recorded trace: the concurrency observed (in flight + queued), how many were
// queued, and the ready instances at that moment (kFollow: as many as the last decision, an
// actuator that is instant).
constexpr int32_t kFollow = -1;
struct TraceStep {
  double concurrency;
  int32_t queued;
  int32_t ready;
};

// Replays a trace one sample per second through the window and the pure decision function
// (as the pool's control loop does); the desired count after each second.
std::vector<int32_t> replay(const AutoscalerConfig& cfg, const std::vector<TraceStep>& trace,
                            int32_t floor = 0) {
  FakeClock clock;
  clock.advance(seconds(1000));
  ConcurrencyWindow window;
  AutoscalerState state;
  std::vector<int32_t> out;
  for (const TraceStep& s : trace) {
    window.record(clock.now(), s.concurrency);
    const auto stable = milliseconds(cfg.stable_window_ms);
    const int32_t ready = s.ready == kFollow ? (out.empty() ? 0 : out.back()) : s.ready;
    ScaleInput in{clock.now(),
                  window.average(clock.now(), stable),
                  window.average(clock.now(), panic_window(cfg)),
                  static_cast<int32_t>(s.concurrency),
                  ready,
                  s.queued,
                  floor};
    ScaleDecision d = decide_scale(cfg, in, std::move(state));
    state = std::move(d.next);
    out.push_back(d.desired);
    clock.advance(seconds(1));
  }
  return out;
}

AutoscalerConfig small_pool() {
  AutoscalerConfig c;
  c.target_concurrency = 1;
  c.target_utilization_percentage = 100;
  c.stable_window_ms = 10'000;  // panic window: 1 s
  c.idle_timeout_ms = 5'000;
  c.max_instances = 4;
  return c;
}

TEST(ConcurrencyWindowTest, AveragesSecondsOverTheWindowCountingGapsAsZero) {
  FakeClock clock;
  clock.advance(seconds(100));
  ConcurrencyWindow w;
  w.record(clock.now(), 4);
  w.record(clock.now(), 2);                                  // same second: its mean is 3
  EXPECT_DOUBLE_EQ(w.average(clock.now(), seconds(10)), 3);  // only one second seen so far
  clock.advance(seconds(2));
  w.record(clock.now(), 0);
  EXPECT_DOUBLE_EQ(w.average(clock.now(), seconds(10)), 1);  // (3 + 0 + 0) / 3 seconds
  clock.advance(seconds(20));
  EXPECT_DOUBLE_EQ(w.average(clock.now(), seconds(10)), 0);  // all out of the window
  w.prune(clock.now(), seconds(10));
  EXPECT_DOUBLE_EQ(w.average(clock.now(), seconds(30)), 0);
}

TEST(AutoscalerTest, AQueuedRequestStartsTheFirstInstanceFromZero) {
  // The activator's case: nothing runs, one request waits.
  const auto d = replay(small_pool(), {{0, 0, 0}, {1, 1, 0}});
  EXPECT_EQ(d, (std::vector<int32_t>{0, 1}));
}

TEST(AutoscalerTest, BurstPanicsToMaxThenHoldsUntilAStableWindowIsCalm) {
  // Recorded: a burst of 10 concurrent requests against 1 ready instance for 3 s, then quiet.
  std::vector<TraceStep> trace = {{1, 0, 1}, {10, 8, 1}, {10, 6, 3}, {10, 4, 4}};
  for (int i = 0; i < 14; ++i) trace.push_back({0, 0, 4});
  const auto d = replay(small_pool(), trace);
  EXPECT_EQ(d[0], 1);
  EXPECT_EQ(d[1], 4);  // panic: 10 wanted, clamped to max_instances
  EXPECT_EQ(d[3], 4);
  // Panic never scales down: 4 through the stable window after the last over-threshold second
  // (t=3), then the stable average decides, halving at most per step (max_scale_down_rate 2).
  for (int t = 4; t < 13; ++t) EXPECT_EQ(d[static_cast<size_t>(t)], 4) << "t=" << t;
  EXPECT_LT(d[13], 4);
  EXPECT_GE(d[13], 2);  // floor(4 / 2): no faster than max_scale_down_rate
}

TEST(AutoscalerTest, IdleTimeoutKeepsTheLastInstanceThenScalesToZero) {
  AutoscalerConfig cfg = small_pool();
  cfg.stable_window_ms = 6'000;
  std::vector<TraceStep> trace = {{1, 0, 1}};
  for (int i = 0; i < 12; ++i) trace.push_back({0, 0, 1});
  const auto d = replay(cfg, trace);
  // Stable average reaches 0 after the window; the instance stays until 5 s without traffic.
  for (int t = 0; t < 5; ++t) EXPECT_EQ(d[static_cast<size_t>(t)], 1) << "t=" << t;
  EXPECT_EQ(d.back(), 0);
}

TEST(AutoscalerTest, ScaleDownDelayHoldsTheHighestRecentCount) {
  AutoscalerConfig cfg = small_pool();
  cfg.stable_window_ms = 6'000;
  cfg.panic_threshold_percentage = 1000;  // no panic in this trace
  cfg.scale_down_delay_ms = 4'000;
  cfg.idle_timeout_ms = 0;
  std::vector<TraceStep> trace;
  for (int i = 0; i < 6; ++i) trace.push_back({2, 0, 2});
  for (int i = 0; i < 12; ++i) trace.push_back({0, 0, kFollow});
  const auto d = replay(cfg, trace);
  const auto without = [&] {
    AutoscalerConfig c = cfg;
    c.scale_down_delay_ms = 0;
    return replay(c, trace);
  }();
  // The first second the undelayed scaler goes below 2, the delayed one still says 2.
  size_t first_drop = 0;
  while (first_drop < without.size() && without[first_drop] >= 2) ++first_drop;
  ASSERT_LT(first_drop, without.size());
  EXPECT_EQ(d[first_drop], 2);
  EXPECT_EQ(d.back(), 0);
}

TEST(AutoscalerTest, FloorAndMaxBoundTheDecision) {
  AutoscalerConfig cfg = small_pool();
  EXPECT_EQ(replay(cfg, {{0, 0, 0}}, /*floor=*/2), (std::vector<int32_t>{2}));
  cfg.max_instances = 2;
  EXPECT_EQ(replay(cfg, {{50, 50, 0}}).back(), 2);
  cfg.min_instances = 1;
  EXPECT_EQ(replay(cfg, {{0, 0, 0}}).back(), 1);
}

TEST(PrewarmTest, WindowsFollowTheirTimeZoneDaysAndWrapPastMidnight) {
  auto zone = find_time_zone("Asia/Shanghai");
  ASSERT_TRUE(zone.ok()) << zone.status().to_string();
  PrewarmConfig cfg;
  cfg.time_zone = "Asia/Shanghai";
  cfg.windows.push_back({0b0111110, 8 * 60, 18 * 60, 2});  // Mon-Fri 08:00-18:00
  cfg.windows.push_back({0b0000001, 22 * 60, 2 * 60, 1});  // Sunday 22:00 - Monday 02:00
  using namespace std::chrono;
  // 2026-12-07 is a Monday. 08:30 in Shanghai is 00:30 UTC.
  const auto monday_0830 = sys_days{2026y / December / 7} + minutes(30);
  EXPECT_EQ(scheduled_instances(cfg, *zone, monday_0830), 2);
  EXPECT_EQ(scheduled_instances(cfg, *zone, monday_0830 - minutes(31)), 0);  // 07:59
  EXPECT_EQ(scheduled_instances(cfg, *zone, monday_0830 + hours(10)), 0);    // 18:30
  // Monday 01:00 local: Sunday's window runs on past midnight.
  EXPECT_EQ(scheduled_instances(cfg, *zone, monday_0830 - hours(7) - minutes(30)), 1);
  // Sunday 23:00 local.
  EXPECT_EQ(scheduled_instances(cfg, *zone, monday_0830 - hours(9) - minutes(30)), 1);
  // Saturday 09:00 local: no window.
  EXPECT_EQ(scheduled_instances(cfg, *zone, monday_0830 - days(2) + minutes(30)), 0);
}

TEST(PrewarmTest, RejectsUnknownZonesAndBadTimes) {
  EXPECT_FALSE(find_time_zone("Mars/Olympus").ok());
  EXPECT_EQ(*parse_time_of_day("24:00"), 24 * 60);
  EXPECT_FALSE(parse_time_of_day("24:01").ok());
  EXPECT_FALSE(parse_time_of_day("8:00").ok());
  EXPECT_FALSE(parse_time_of_day("08:60").ok());
}

TEST(PrewarmTest, PredictionUsesLittlesLawAboveTheMinimumRate) {
  PrewarmConfig p;
  p.predict_window_ms = 600'000;  // 10 minutes
  p.predict_min_requests_per_minute = 1;
  AutoscalerConfig s;
  s.target_concurrency = 2;
  s.target_utilization_percentage = 100;
  EXPECT_EQ(predicted_instances(p, s, 5, 1.0), 0);      // 0.5 per minute: below the minimum
  EXPECT_EQ(predicted_instances(p, s, 20, 1.0), 1);     // 2 per minute, 1 s each: at least 1
  EXPECT_EQ(predicted_instances(p, s, 6000, 2.0), 10);  // 10/s x 2 s = 20 concurrent / 2
  p.predict_window_ms = 0;
  EXPECT_EQ(predicted_instances(p, s, 6000, 2.0), 0);
}

TEST(ComputeBillingTest, RoundsUpToTheGranularityWithExactIntegerCosts) {
  EXPECT_EQ(round_up_to_granularity_ms(1, 100), 100);
  EXPECT_EQ(round_up_to_granularity_ms(100'000'000, 100), 100);  // exactly 100 ms
  EXPECT_EQ(round_up_to_granularity_ms(100'000'001, 100), 200);
  EXPECT_EQ(round_up_to_granularity_ms(0, 100), 0);
  ComputePrice plan;
  plan.nanos_per_ms = *parse_price_per_1k("0.000123");  // per instance-second
  plan.granularity_ms = 100;
  const ComputeCharge c = PriceTable::compute_cost(plan, 250'000'000);  // 250 ms -> 300 ms
  EXPECT_EQ(c.billed_ms, 300);
  EXPECT_EQ(c.granularity_ms, 100);
  EXPECT_EQ(c.cost_nanos, 300 * 123);  // 0.000123 / s = 123 nano-units per ms
}

TEST(ComputeBillingTest, ReportShowsBothPlansAndTotalsEqualTheRows) {
  std::vector<UsageRecord> rows(3);
  rows[0].model = "chat";
  rows[0].prompt_tokens = 10;
  rows[0].cost_nanos = 1000;
  rows[1].model = "r1";
  rows[1].billed_ms = 300;
  rows[1].billing_granularity_ms = 100;
  rows[1].cost_nanos = 36'900;
  rows[2].model = "r1";
  rows[2].billed_ms = 1'200;
  rows[2].billing_granularity_ms = 100;
  rows[2].cost_nanos = 147'600;
  const BillingReport r = make_billing_report("acme", "2026-12", rows);
  EXPECT_EQ(r.by_model.at("chat").plan(), "per_token");
  EXPECT_EQ(r.by_model.at("r1").plan(), "per_compute");
  EXPECT_EQ(r.by_model.at("r1").billed_ms, 1'500);
  EXPECT_EQ(r.total.plan(), "mixed");
  EXPECT_EQ(r.total.cost_nanos, 1000 + 36'900 + 147'600);
  EXPECT_NE(render_csv(r).find("acme,2026-12,r1,2,0,0,0,0.0001845,per_compute,1.500\n"),
            std::string::npos)
      << render_csv(r);
  EXPECT_EQ(usage_row_text(rows[0]).find("300"),
            std::string::npos);  // per-token rows: old seal text
  EXPECT_NE(usage_row_text(rows[1]).find(",300,100]"), std::string::npos);
}

constexpr const char* kServerless = R"yaml(
pools:
  r1:
    kind: serverless
    worker: {model: /models/r1, ports: 20000-20009, env: {OMP_NUM_THREADS: "2"}}
    min_instances: 0
    max_instances: 3
    target_concurrency: 4
    stable_window_ms: 6000
    idle_timeout_ms: 10000
    queue: {max_requests: 8, timeout_ms: 5000}
    prewarm:
      time_zone: Europe/Berlin
      windows: [{days: [mon, fri], from: "08:00", to: "18:00", instances: 2}]
      warmup: {prompt: hi, requests: 2}
models: [{name: deepseek-r1, pool: r1}]
prices:
  deepseek-r1: {plan: per_compute, per_instance_second: "0.0004", granularity_ms: 100}
)yaml";

TEST(ServerlessConfigTest, ParsesAServerlessPoolAndAPerComputePrice) {
  auto c = parse_gateway_config(kServerless, "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const auto& s = c->pools.at("r1").serverless;
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->worker.port_from, 20000);
  EXPECT_EQ(s->worker.port_to, 20009);
  EXPECT_EQ(s->worker.model_name, "r1");
  EXPECT_EQ(s->worker.env.at("OMP_NUM_THREADS"), "2");
  EXPECT_EQ(s->scaling.max_instances, 3);
  EXPECT_EQ(s->scaling.target_concurrency, 4);
  EXPECT_EQ(s->scaling.target_utilization_percentage, 70);  // Knative's default
  EXPECT_EQ(s->queue_max_requests, 8);
  ASSERT_EQ(s->prewarm.windows.size(), 1u);
  EXPECT_EQ(s->prewarm.windows[0].days_mask, 0b0100010);
  EXPECT_EQ(s->prewarm.warmup_requests, 2);
  const ComputePrice* plan = c->prices.compute_plan("deepseek-r1");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->nanos_per_ms, 400);
  EXPECT_EQ(plan->granularity_ms, 100);
  EXPECT_EQ(*c->prices.cost("deepseek-r1", 0, 100, 0, 100), 0);  // tokens are not billed
}

TEST(ServerlessConfigTest, EveryBadFieldIsNamed) {
  const std::string bad = R"yaml(
pools:
  r1:
    kind: serverless
    worker: {ports: 9-2, start_timeout_ms: -1}
    min_instances: 5
    max_instances: 2
    target_concurrency: 0
    stable_window_ms: 100
    upstreams: [{url: http://x}]
    prewarm:
      windows: [{days: [someday], from: "25:00", to: "10:00", instances: 0}]
  s:
    upstreams: [{url: "http://127.0.0.1:1"}]
    fallback: r1
  k:
    kind: lambda
    upstreams: [{url: "http://127.0.0.1:1"}]
models: [{name: m, pool: r1}]
prices:
  m: {plan: per_compute, granularity_ms: 0}
)yaml";
  auto c = parse_gateway_config(bad, "gw.yaml");
  ASSERT_FALSE(c.ok());
  const std::string m = c.status().message();
  for (const char* want :
       {"pools.r1.worker.model: is required", "pools.r1.worker.ports: must be a range",
        "pools.r1.worker.start_timeout_ms: must be in", "pools.r1.min_instances: must not exceed",
        "pools.r1.target_concurrency: must be positive",
        "pools.r1.stable_window_ms: must be in 6000", "pools.r1.upstreams: is not a known field",
        "pools.r1.prewarm.windows[0].days: unknown day 'someday'",
        "pools.r1.prewarm.windows[0].from: '25:00'",
        "pools.r1.prewarm.windows[0].instances: must be at least 1",
        "pools.r1.prewarm.time_zone: is required with windows",
        "pools.s.fallback: 'r1' is a serverless pool", "pools.k.kind: must be static or serverless",
        "prices.m.per_instance_second: is required",
        "prices.m.granularity_ms: must be in 1..3600000"})
    EXPECT_NE(m.find(want), std::string::npos) << "missing '" << want << "' in:\n" << m;
}

// Waits for a child to end by polling the actuator (no sleep: it yields while the child runs).
InstanceExit wait_exit(Actuator& a, const InstanceHandle& h) {
  for (;;) {
    if (auto e = a.poll_exit(h)) return *e;
    std::this_thread::yield();
  }
}

TEST(LocalProcessActuatorTest, RunsReapsAndStopsRealProcesses) {
  LocalProcessActuator a;
  const std::string log = ::testing::TempDir() + "/actuator.log";
  auto exited =
      a.start({{"sh", "-c", "echo hello from $GREETING; exit 3"}, {{"GREETING", "env"}}, log});
  ASSERT_TRUE(exited.ok()) << exited.status().to_string();
  const InstanceExit e = wait_exit(a, *exited);
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_EQ(e.signal, 0);
  EXPECT_EQ(::kill(exited->pid, 0), -1);  // reaped: no zombie left with that pid

  auto sleeper = a.start({{"/bin/sleep", "60"}, {}, log});
  ASSERT_TRUE(sleeper.ok());
  EXPECT_FALSE(a.poll_exit(*sleeper).has_value());
  a.stop(*sleeper, /*force=*/false);
  EXPECT_EQ(wait_exit(a, *sleeper).signal, SIGTERM);

  EXPECT_FALSE(a.start({{"no-such-program-fathom"}, {}, log}).ok());
}

}  // namespace
}  // namespace fathom::gateway
