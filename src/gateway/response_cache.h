// A response cache for deterministic requests (temperature 0 or a fixed seed, same model,
// messages and parameters): LRU with a TTL, in process. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace fathom::gateway {

class ResponseCache {
 public:
  ResponseCache(int64_t max_entries, std::chrono::milliseconds ttl, const Clock& clock)
      : max_entries_(max_entries), ttl_(ttl), clock_(clock) {}

  std::optional<std::string> get(const std::string& key);
  void put(const std::string& key, std::string body);
  int64_t size() const;

 private:
  struct Entry {
    std::string key, body;
    Clock::TimePoint stored;
  };
  int64_t max_entries_;
  std::chrono::milliseconds ttl_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace fathom::gateway
