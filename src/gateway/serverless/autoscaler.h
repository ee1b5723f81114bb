// The KPA autoscaler (Knative's pod autoscaler, on instances): a pure function of the observed
// concurrency averaged over a stable window and a short panic window. See docs/serverless.md
// for the formulas. No clock of its own: every input carries its time.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "base/clock.h"
#include "gateway/serverless/serverless_config.h"

namespace fathom::gateway {

/// Observed concurrency (requests in flight on instances plus queued in the activator) in
/// one-second buckets, as Knative's metric collector keeps it.
class ConcurrencyWindow {
 public:
  void record(Clock::TimePoint t, double concurrency);
  /// The average over the `window` ending at `now`: the mean of each second's mean, seconds
  /// without a sample counting as 0, over at most the time since the first sample.
  double average(Clock::TimePoint now, Clock::Duration window) const;
  /// Drops buckets older than `keep` before `now`.
  void prune(Clock::TimePoint now, Clock::Duration keep);

 private:
  struct Bucket {
    int64_t second = 0;
    double sum = 0;
    int64_t count = 0;
  };
  std::deque<Bucket> buckets_;  // ascending seconds
  std::optional<int64_t> first_second_;
};

/// What the autoscaler remembers between decisions (Knative's panicTime and maxPanicPods, the
/// scale-down delay window, the last time anything was in flight).
struct AutoscalerState {
  std::optional<Clock::TimePoint> panic_since;
  int32_t max_panic_instances = 0;
  std::deque<std::pair<Clock::TimePoint, int32_t>> recent_desired;  // within scale_down_delay
  std::optional<Clock::TimePoint> last_active;
};

struct ScaleInput {
  Clock::TimePoint now;
  double stable_concurrency = 0;    ///< average over the stable window
  double panic_concurrency = 0;     ///< average over the panic window
  int32_t current_concurrency = 0;  ///< in flight + queued right now
  int32_t ready_instances = 0;
  int32_t queued = 0;  ///< requests waiting in the activator now
  /// The least the pool must keep: min_instances, prewarm windows, prediction, on demand.
  int32_t floor = 0;
};

struct ScaleDecision {
  int32_t desired = 0;
  bool panicking = false;
  AutoscalerState next;
};

/// One decision. Pure: the same inputs always give the same decision.
ScaleDecision decide_scale(const AutoscalerConfig& cfg, const ScaleInput& in,
                           AutoscalerState state);

/// The panic window's length for `cfg` (at least one second, the bucket size).
Clock::Duration panic_window(const AutoscalerConfig& cfg);

}  // namespace fathom::gateway
