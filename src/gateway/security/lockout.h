// Account lockout: after `max_failures` failed attempts within `window`, an account is locked
// for `lock_for` (MLPS level 3: "login failure handling"). Thread-safe; time is injected.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "base/clock.h"

namespace fathom::gateway {

struct LockoutConfig {
  int64_t max_failures = 5;  ///< 0: never lock
  int64_t window_ms = 15 * 60'000;
  int64_t lock_ms = 15 * 60'000;
};

class Lockout {
 public:
  Lockout(LockoutConfig cfg, const Clock& clock) : cfg_(cfg), clock_(clock) {}

  /// How long `account` stays locked; zero when it is not.
  Clock::Duration locked_for(const std::string& account);
  /// Counts a failure; true when this one locked the account.
  bool failure(const std::string& account);
  /// A success forgets the account's failures.
  void success(const std::string& account);

 private:
  struct State {
    int64_t failures = 0;
    Clock::TimePoint first_failure{};
    Clock::TimePoint locked_until{};
  };
  LockoutConfig cfg_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, State> accounts_;
};

}  // namespace fathom::gateway
