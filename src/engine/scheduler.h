// The scheduler step is one rule: each sequence has num_tokens and num_computed, and every
// step grants tokens so the second catches up with the first, under a token budget. Prefill,
// chunked prefill and decode are the same path with different numbers. When KV blocks run
// out, the most recently admitted running sequence is preempted (its blocks freed, to be
// recomputed later).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "kv/kv_cache_manager.h"

namespace fathom::engine {

struct SchedulerConfig {
  int64_t max_num_batched_tokens = 512;
  int32_t max_num_seqs = 64;
};

struct ScheduledSeq {
  Sequence* seq = nullptr;
  int64_t num_new_tokens = 0;  ///< tokens[num_computed, num_computed + num_new_tokens)
};

struct SchedulerOutput {
  std::vector<ScheduledSeq> scheduled;
  int64_t num_preempted = 0;
  bool empty() const { return scheduled.empty(); }
};

class Scheduler {
 public:
  Scheduler(SchedulerConfig cfg, kv::KvCacheManager& kv) : cfg_(cfg), kv_(kv) {}

  void add(std::unique_ptr<Sequence> seq) { waiting_.push_back(std::move(seq)); }
  SchedulerOutput schedule();

  /// Removes the sequence (running or waiting) and frees its blocks; returns ownership.
  std::unique_ptr<Sequence> remove(const Sequence* seq);
  Sequence* find(const std::string& request_id) const;
  /// Every sequence, running then waiting.
  std::vector<Sequence*> all() const;

  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t num_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  bool idle() const { return running_.empty() && waiting_.empty(); }

 private:
  void preempt(std::unique_ptr<Sequence> seq);

  SchedulerConfig cfg_;
  kv::KvCacheManager& kv_;
  std::vector<std::unique_ptr<Sequence>> running_;  // admission order
  std::deque<std::unique_ptr<Sequence>> waiting_;   // FCFS; preempted go to the front
};

}  // namespace fathom::engine
