#include "model/lora/adapter_cache.h"

#include "base/logging.h"

namespace fathom::model::lora {

Status AdapterCache::make_room() {
  int32_t loaded = 0;
  Entry* victim = nullptr;
  std::string victim_name;
  for (auto& [name, e] : entries_) {
    if (!e.adapter) continue;
    ++loaded;
    // use_count 1: only the cache holds it, no request is running with it.
    if (e.adapter.use_count() == 1 && (!victim || e.last_used < victim->last_used)) {
      victim = &e;
      victim_name = name;
    }
  }
  if (loaded < max_loras_) return ok_status();
  if (!victim)
    return resource_exhausted("all " + std::to_string(max_loras_) +
                              " LoRA adapter slots (--max-loras) hold adapters in use by running "
                              "requests; retry later");
  victim->adapter.reset();
  ++evictions_;
  FATHOM_LOG(kInfo) << "LoRA adapter '" << victim_name << "' evicted (least recently used; "
                    << max_loras_ << " slots)";
  return ok_status();
}

Status AdapterCache::add(const std::string& name, const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.count(name))
    return invalid_argument("lora_name: the lora adapter '" + name + "' has already been loaded");
  FATHOM_RETURN_IF_ERROR(make_room());
  FATHOM_ASSIGN_OR_RETURN(std::shared_ptr<const LoraAdapter> a,
                          load_lora_adapter(name, dir, targets_));
  FATHOM_LOG(kInfo) << "LoRA adapter '" << name << "' loaded from " << dir << " (r " << a->rank
                    << ", scale " << a->scale << ", " << a->size_bytes << " bytes)";
  entries_[name] = Entry{dir, std::move(a), ++tick_};
  return ok_status();
}

Status AdapterCache::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!entries_.erase(name))
    return not_found("lora_name: the lora adapter '" + name + "' cannot be found");
  FATHOM_LOG(kInfo) << "LoRA adapter '" << name << "' unloaded";
  return ok_status();
}

Result<std::shared_ptr<const LoraAdapter>> AdapterCache::acquire(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return not_found("no LoRA adapter named '" + name + "'");
  Entry& e = it->second;
  e.last_used = ++tick_;
  if (e.adapter) return e.adapter;
  FATHOM_RETURN_IF_ERROR(make_room());
  FATHOM_ASSIGN_OR_RETURN(e.adapter, load_lora_adapter(name, e.path, targets_));
  FATHOM_LOG(kInfo) << "LoRA adapter '" << name << "' reloaded from " << e.path;
  return e.adapter;
}

bool AdapterCache::has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.count(name) > 0;
}

std::vector<AdapterInfo> AdapterCache::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AdapterInfo> out;
  for (const auto& [name, e] : entries_) out.push_back({name, e.path, e.adapter != nullptr});
  return out;
}

int64_t AdapterCache::num_evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

}  // namespace fathom::model::lora
