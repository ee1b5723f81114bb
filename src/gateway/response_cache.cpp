#include "gateway/response_cache.h"

namespace fathom::gateway {

std::optional<std::string> ResponseCache::get(const std::string& key) {
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

void ResponseCache::put(const std::string& key, std::string body) {
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

int64_t ResponseCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(lru_.size());
}

}  // namespace fathom::gateway
