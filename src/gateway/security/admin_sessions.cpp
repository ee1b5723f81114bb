#include "gateway/security/admin_sessions.h"

#include <chrono>
#include <iterator>

#include "gateway/security/api_keys.h"

namespace fathom::gateway {

bool AdminSessions::expired(const Session& s, Clock::TimePoint now) const {
  return now - s.last_used >= std::chrono::milliseconds(cfg_.idle_ms) ||
         now - s.opened >= std::chrono::milliseconds(cfg_.max_ms);
}

Result<std::string> AdminSessions::open(const std::string& key_id) {
  FATHOM_ASSIGN_OR_RETURN(std::string random, generate_api_key());  // "fk-" + 256 random bits
  const std::string token = "fas-" + random.substr(3);              // not mistaken for an API key
  const Clock::TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();)  // forget the expired ones
    it = expired(it->second, now) ? sessions_.erase(it) : std::next(it);
  sessions_[sha256_hex(token)] = Session{key_id, now, now};
  return token;
}

bool AdminSessions::check(const std::string& token, const std::string& key_id) {
  const Clock::TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(sha256_hex(token));
  if (it == sessions_.end()) return false;
  if (expired(it->second, now)) {
    sessions_.erase(it);
    return false;
  }
  if (it->second.key_id != key_id) return false;  // another key's token
  it->second.last_used = now;
  return true;
}

void AdminSessions::close(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(sha256_hex(token));
}

size_t AdminSessions::num_open() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace fathom::gateway
