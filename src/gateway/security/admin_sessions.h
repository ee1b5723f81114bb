// Sessions of the operator console: an admin key that passed its second factor once (POST
// /admin/session) gets a random token that stands in for the one-time code on later admin
// calls (x-fathom-admin-session), until it is idle for `idle_ms`, older than `max_ms`, or
// closed. A TOTP code is good once, so a console that polls could not work without this.
// Tokens are kept hashed; the state is the process's own. Thread-safe; time is injected.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/status.h"

namespace fathom::gateway {

struct AdminSessionConfig {
  int64_t idle_ms = 15 * 60'000;
  int64_t max_ms = 12 * 3'600'000;
};

class AdminSessions {
 public:
  AdminSessions(AdminSessionConfig cfg, const Clock& clock) : cfg_(cfg), clock_(clock) {}

  /// A new session of `key_id`: its token (shown once).
  Result<std::string> open(const std::string& key_id);
  /// Whether `token` is a live session of `key_id`; a yes counts as use (the idle time restarts).
  bool check(const std::string& token, const std::string& key_id);
  /// Ends the session (no-op when unknown).
  void close(const std::string& token);
  size_t num_open();

 private:
  struct Session {
    std::string key_id;
    Clock::TimePoint opened, last_used;
  };
  bool expired(const Session& s, Clock::TimePoint now) const;

  AdminSessionConfig cfg_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;  // SHA-256 of the token -> session
};

}  // namespace fathom::gateway
