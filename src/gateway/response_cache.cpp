#include "gateway/response_cache.h"

#include <hiredis/hiredis.h>

#include "base/logging.h"

namespace fathom::gateway {

std::optional<std::string> LruResponseCache::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (clock_.now() - it->second->stored >= ttl_) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->body;
}

void LruResponseCache::put(const std::string& key, std::string body) {
  if (max_entries_ <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front({key, std::move(body), clock_.now()});
  index_[key] = lru_.begin();
  while (static_cast<int64_t>(lru_.size()) > max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

int64_t LruResponseCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(lru_.size());
}

std::optional<std::string> RedisResponseCache::get(const std::string& key) {
  auto reply = redis_->command({"GET", prefix_ + key});
  if (!reply.ok()) {
    FATHOM_LOG(kWarning) << "response cache: " << reply.status().message() << " (treated as a miss)";
    return std::nullopt;
  }
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;  // nil: a miss
  if (!protection_) return std::string(r->str, r->len);
  auto plain = protection_->decrypt(std::string_view(r->str, r->len));
  if (!plain.ok()) {
    FATHOM_LOG(kWarning) << "response cache: entry " << key << ": " << plain.status().message()
                         << " (a miss)";
    return std::nullopt;
  }
  return std::move(*plain);
}

void RedisResponseCache::put(const std::string& key, std::string body) {
  if (protection_) {
    auto sealed = protection_->encrypt(body);
    if (!sealed.ok()) {
      FATHOM_LOG(kWarning) << "response cache: " << sealed.status().message() << " (not cached)";
      return;
    }
    body = std::move(*sealed);
  }
  auto reply = redis_->command({"SET", prefix_ + key, std::move(body), "PX", std::to_string(ttl_.count())});
  if (!reply.ok()) FATHOM_LOG(kWarning) << "response cache: " << reply.status().message();
}

}  // namespace fathom::gateway
