#include "gateway/serverless/autoscaler.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace fathom::gateway {
namespace {

int64_t second_of(Clock::TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

int32_t ceil_count(double v) {
  return static_cast<int32_t>(std::min(std::ceil(std::max(v, 0.0)), 1e9));
}

}  // namespace

void ConcurrencyWindow::record(Clock::TimePoint t, double concurrency) {
  const int64_t s = second_of(t);
  if (!first_second_) first_second_ = s;
  if (buckets_.empty() || buckets_.back().second < s) buckets_.push_back({s, 0, 0});
  Bucket& b = buckets_.back();  // a steady clock never goes back
  b.sum += concurrency;
  ++b.count;
}

double ConcurrencyWindow::average(Clock::TimePoint now, Clock::Duration window) const {
  if (!first_second_) return 0;
  const int64_t last = second_of(now);
  const int64_t window_s =
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(window).count());
  const int64_t span = std::clamp<int64_t>(last - *first_second_ + 1, 1, window_s);
  double total = 0;
  for (const Bucket& b : buckets_)
    if (b.second > last - span && b.second <= last && b.count > 0)
      total += b.sum / static_cast<double>(b.count);
  return total / static_cast<double>(span);
}

void ConcurrencyWindow::prune(Clock::TimePoint now, Clock::Duration keep) {
  const int64_t oldest = second_of(now) - std::chrono::ceil<std::chrono::seconds>(keep).count();
  while (!buckets_.empty() && buckets_.front().second < oldest) buckets_.pop_front();
}

Clock::Duration panic_window(const AutoscalerConfig& cfg) {
  const auto ms = static_cast<int64_t>(static_cast<double>(cfg.stable_window_ms) *
                                       cfg.panic_window_percentage / 100);
  return std::chrono::milliseconds(std::max<int64_t>(ms, 1000));
}

ScaleDecision decide_scale(const AutoscalerConfig& cfg, const ScaleInput& in,
                           AutoscalerState state) {
  // Knative KPA (pkg/autoscaler/scaling/autoscaler.go), with instances for pods.
  const double target =
      std::max(cfg.target_concurrency * cfg.target_utilization_percentage / 100, 1e-9);
  const double ready = std::max(1, in.ready_instances);
  const int32_t max_up = ceil_count(cfg.max_scale_up_rate * ready);
  const int32_t max_down =
      std::min(max_up, cfg.max_scale_down_rate > 0
                           ? static_cast<int32_t>(std::floor(ready / cfg.max_scale_down_rate))
                           : 0);
  const int32_t stable_want =
      std::clamp(ceil_count(in.stable_concurrency / target), max_down, max_up);
  const int32_t panic_want =
      std::clamp(ceil_count(in.panic_concurrency / target), max_down, max_up);
  const bool over_threshold = panic_want / ready >= cfg.panic_threshold_percentage / 100;

  if (over_threshold) {
    state.panic_since = in.now;  // start, or extend, the panic
  } else if (state.panic_since &&
             in.now >= *state.panic_since + std::chrono::milliseconds(cfg.stable_window_ms)) {
    state.panic_since.reset();  // a whole stable window without the threshold: calm again
    state.max_panic_instances = 0;
  }
  int32_t desired = stable_want;
  if (state.panic_since) {  // never scale down while panicking
    state.max_panic_instances = std::max(state.max_panic_instances, panic_want);
    desired = state.max_panic_instances;
  }

  // Scale-down delay: the highest count wanted within the delay wins.
  if (cfg.scale_down_delay_ms > 0) {
    const auto delay = std::chrono::milliseconds(cfg.scale_down_delay_ms);
    while (!state.recent_desired.empty() && state.recent_desired.front().first + delay <= in.now)
      state.recent_desired.pop_front();
    state.recent_desired.emplace_back(in.now, desired);
    for (const auto& [t, d] : state.recent_desired) desired = std::max(desired, d);
  }

  // Scale to zero only after idle_timeout without traffic; a queued request (the activator)
  // always gets an instance.
  if (in.current_concurrency > 0) state.last_active = in.now;
  if (desired == 0 && in.ready_instances > 0 && state.last_active &&
      in.now < *state.last_active + std::chrono::milliseconds(cfg.idle_timeout_ms))
    desired = 1;
  if (in.queued > 0) desired = std::max(desired, 1);
  desired = std::max({desired, in.floor, cfg.min_instances});
  desired = std::min(desired, cfg.max_instances);
  return {desired, state.panic_since.has_value(), std::move(state)};
}

}  // namespace fathom::gateway
