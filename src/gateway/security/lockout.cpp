#include "gateway/security/lockout.h"

namespace fathom::gateway {

Clock::Duration Lockout::locked_for(const std::string& account) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = accounts_.find(account);
  const Clock::TimePoint now = clock_.now();
  if (it == accounts_.end() || it->second.locked_until <= now) return Clock::Duration::zero();
  return it->second.locked_until - now;
}

bool Lockout::failure(const std::string& account) {
  if (cfg_.max_failures <= 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  State& s = accounts_[account];
  const Clock::TimePoint now = clock_.now();
  if (s.failures == 0 || now - s.first_failure > std::chrono::milliseconds(cfg_.window_ms)) {
    s.failures = 0;
    s.first_failure = now;
  }
  if (++s.failures < cfg_.max_failures) return false;
  s.locked_until = now + std::chrono::milliseconds(cfg_.lock_ms);
  s.failures = 0;
  return true;
}

void Lockout::success(const std::string& account) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_.erase(account);
}

}  // namespace fathom::gateway
