#include "gateway/quota/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace fathom::gateway {

TokenBucket::TokenBucket(TokenBucketConfig cfg, const Clock& clock)
    : cfg_(cfg), clock_(clock), available_(static_cast<double>(cfg.capacity)), last_(clock.now()) {}

void TokenBucket::refill() {
  const Clock::TimePoint now = clock_.now();
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  const double period = std::chrono::duration<double>(cfg_.period).count();
  last_ = now;
  available_ = std::min(static_cast<double>(cfg_.capacity),
                        available_ + elapsed * static_cast<double>(cfg_.capacity) / period);
}

bool TokenBucket::try_consume(int64_t n) {
  if (cfg_.capacity == 0) return true;
  refill();
  if (available_ < static_cast<double>(n)) return false;
  available_ -= static_cast<double>(n);
  return true;
}

void TokenBucket::force_consume(int64_t n) {
  if (cfg_.capacity == 0) return;
  refill();
  available_ -= static_cast<double>(n);
}

void TokenBucket::refund(int64_t n) {
  if (cfg_.capacity == 0) return;
  refill();
  available_ = std::min(static_cast<double>(cfg_.capacity), available_ + static_cast<double>(n));
}

Clock::Duration TokenBucket::time_until(int64_t n) {
  if (cfg_.capacity == 0) return Clock::Duration::zero();
  refill();
  const double missing = static_cast<double>(n) - available_;
  if (missing <= 0) return Clock::Duration::zero();
  const double period = std::chrono::duration<double>(cfg_.period).count();
  const double seconds = missing * period / static_cast<double>(cfg_.capacity);
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
}

double TokenBucket::available() {
  refill();
  return available_;
}

}  // namespace fathom::gateway
