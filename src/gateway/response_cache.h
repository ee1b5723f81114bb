// A response cache for deterministic requests (temperature 0 or a fixed seed, same model,
// messages and parameters), with a TTL: an LRU in this process, or Redis, shared by every
// replica, when the gateway is configured with one. A cache is only an optimisation: a cache
// that fails is a miss, never an error for the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "gateway/redis_client.h"
#include "gateway/security/data_protection.h"

namespace fathom::gateway {

class ResponseCache {
 public:
  virtual ~ResponseCache() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, std::string body) = 0;
};

/// In process. Thread-safe.
class LruResponseCache final : public ResponseCache {
 public:
  LruResponseCache(int64_t max_entries, std::chrono::milliseconds ttl, const Clock& clock)
      : max_entries_(max_entries), ttl_(ttl), clock_(clock) {}

  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, std::string body) override;
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

/// In Redis under `prefix` + key, expiring after the TTL (Redis's own clock and eviction).
class RedisResponseCache final : public ResponseCache {
 public:
  /// With `protection`, entries are encrypted and authenticated in Redis (an entry that fails
  /// to decrypt is a miss).
  RedisResponseCache(std::unique_ptr<RedisClient> redis, std::chrono::milliseconds ttl,
                     std::string prefix = "fathom:cache:",
                     std::shared_ptr<const DataProtection> protection = nullptr)
      : redis_(std::move(redis)),
        ttl_(ttl),
        prefix_(std::move(prefix)),
        protection_(std::move(protection)) {}

  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, std::string body) override;

 private:
  std::unique_ptr<RedisClient> redis_;
  std::chrono::milliseconds ttl_;
  std::string prefix_;
  std::shared_ptr<const DataProtection> protection_;
};

}  // namespace fathom::gateway
