// A token bucket: `capacity` tokens, refilled continuously at capacity / period. Used for
// requests per minute (1 token per request) and tokens per minute (prompt + completion).
#pragma once

#include <chrono>
#include <cstdint>

#include "base/clock.h"

namespace fathom::gateway {

struct TokenBucketConfig {
  int64_t capacity = 0;  ///< 0 means unlimited
  std::chrono::milliseconds period{60'000};
};

/// Not thread-safe; one bucket per (key or tenant, limit), guarded by its owner.
class TokenBucket {
 public:
  TokenBucket(TokenBucketConfig cfg, const Clock& clock);

  /// Takes `n` tokens if available. False leaves the bucket unchanged (HTTP 429 upstream).
  [[nodiscard]] bool try_consume(int64_t n);
  /// Takes `n` tokens even into debt (settling real usage after the fact).
  void force_consume(int64_t n);
  /// Returns tokens (pre-charged more than was used).
  void refund(int64_t n);
  /// How long until `n` tokens are available (0 when they are now); for Retry-After.
  Clock::Duration time_until(int64_t n);
  double available();

 private:
  void refill();
  TokenBucketConfig cfg_;
  const Clock& clock_;
  double available_;
  Clock::TimePoint last_;
};

}  // namespace fathom::gateway
