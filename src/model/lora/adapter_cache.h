// The adapters a server knows (registered by name and folder) and the bounded set of them held
// in memory: at most max_loras are loaded; loading another evicts the least recently used one
// that no running request holds (it stays registered and is read again on its next use).
// Thread-safe: routes call it from I/O threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/lora/lora_adapter.h"

namespace fathom::model::lora {

struct AdapterInfo {
  std::string name;
  std::string path;
  bool loaded = false;
};

class AdapterCache {
 public:
  /// `targets` must outlive the cache (the model's table).
  AdapterCache(const TargetTable& targets, int32_t max_loras)
      : targets_(targets), max_loras_(max_loras) {}

  /// Registers `name` for `dir` and loads it now. InvalidArgument when the name is taken or
  /// the adapter does not fit the model (nothing is registered then); ResourceExhausted when
  /// every slot holds an adapter in use.
  Status add(const std::string& name, const std::string& dir);
  /// Forgets the adapter; requests running with it finish with it. NotFound when unknown.
  Status remove(const std::string& name);
  /// The adapter for a new request, read again from its folder when it was evicted; marks it
  /// most recently used. NotFound for names never registered.
  Result<std::shared_ptr<const LoraAdapter>> acquire(const std::string& name);

  bool has(const std::string& name) const;
  std::vector<AdapterInfo> list() const;  ///< by name
  int32_t max_loras() const { return max_loras_; }
  int64_t num_evictions() const;

 private:
  struct Entry {
    std::string path;
    std::shared_ptr<const LoraAdapter> adapter;  // null when evicted
    uint64_t last_used = 0;
  };
  /// Frees a slot if all are taken (under mu_): evicts the least recently used adapter not
  /// held by a request, or says why it cannot.
  Status make_room();

  const TargetTable& targets_;
  const int32_t max_loras_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  uint64_t tick_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace fathom::model::lora
