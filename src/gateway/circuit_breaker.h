// A circuit breaker per upstream, in the Hystrix / resilience4j model: outcomes are counted in
// a rolling window of buckets; with at least min_requests in the window and an error rate at
// or above the threshold the breaker opens; after sleep_window it lets a few probes through
// (half-open); a successful probe closes it, a failed one opens it again.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "base/clock.h"

namespace fathom::gateway {

struct CircuitBreakerConfig {
  std::chrono::milliseconds window{10'000};
  int32_t num_buckets = 10;
  int64_t min_requests = 20;
  double error_rate_threshold = 0.5;  ///< fraction of failures in the window
  std::chrono::milliseconds sleep_window{5'000};
  int32_t half_open_probes = 1;  ///< concurrent probes allowed while half-open
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
const char* breaker_state_name(BreakerState s);

enum class Outcome { kSuccess, kFailure };

/// Thread-safe.
class CircuitBreaker {
 public:
  CircuitBreaker(CircuitBreakerConfig cfg, const Clock& clock);

  /// True when a request may go to this upstream now. In half-open, each true is a probe
  /// whose outcome must be recorded.
  bool allow();
  void record(Outcome outcome);
  BreakerState state() const;

  /// Failures and total requests in the current window (for metrics and tests).
  std::pair<int64_t, int64_t> window_counts() const;

 private:
  struct Bucket {
    int64_t epoch = -1;  // which window slice this bucket currently counts
    int64_t requests = 0;
    int64_t failures = 0;
  };
  int64_t epoch_of(Clock::TimePoint t) const;
  void refresh_locked() const;  // open -> half-open when the sleep window has passed
  std::pair<int64_t, int64_t> counts_locked() const;

  CircuitBreakerConfig cfg_;
  const Clock& clock_;
  mutable std::mutex mu_;
  mutable BreakerState state_ = BreakerState::kClosed;
  mutable std::vector<Bucket> buckets_;
  Clock::TimePoint opened_at_{};
  int32_t probes_in_flight_ = 0;
};

}  // namespace fathom::gateway
