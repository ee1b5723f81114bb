#include "engine/scheduler.h"

#include <algorithm>

namespace fathom::engine {

void Scheduler::preempt(std::unique_ptr<Sequence> seq) {
  kv_.release(seq->blocks);
  seq->num_computed = 0;  // recompute from scratch (its prefix may still be cached)
  seq->draft.clear();
  waiting_.push_front(std::move(seq));
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  int64_t budget = cfg_.max_num_batched_tokens;

  // 1. Running sequences, oldest first; under KV pressure preempt from the tail.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* s = running_[i].get();
    const int64_t n = std::min(s->num_tokens_with_draft() - s->num_computed, budget);
    if (kv_.grow(s->blocks, s->num_computed + n)) {
      s->fit_draft(n);
      out.scheduled.push_back({s, n});
      budget -= n;
      ++i;
      continue;
    }
    auto victim = std::move(running_.back());
    running_.pop_back();
    ++out.num_preempted;
    std::erase_if(out.scheduled, [&](const ScheduledSeq& x) { return x.seq == victim.get(); });
    preempt(std::move(victim));
    if (i >= running_.size()) break;  // the victim was this sequence
  }
  budget = cfg_.max_num_batched_tokens;
  for (const auto& x : out.scheduled) budget -= x.num_new_tokens;

  // 2. Waiting sequences, first come first served, unless this step had to preempt.
  while (out.num_preempted == 0 && !waiting_.empty() && budget > 0 &&
         static_cast<int32_t>(running_.size()) < cfg_.max_num_seqs) {
    Sequence* s = waiting_.front().get();
    if (s->blocks.table.empty()) {
      const int64_t hit = kv_.attach_cached_prefix(s->blocks, s->tokens);
      s->num_computed = hit;
      if (!s->scheduled_once) s->num_cached_prompt = std::min(hit, s->num_prompt_tokens);
    }
    const int64_t n = std::min(s->num_tokens() - s->num_computed, budget);
    if (!kv_.grow(s->blocks, s->num_computed + n)) {
      kv_.release(s->blocks);  // give back the prefix blocks; try again next step
      s->num_computed = 0;
      break;
    }
    s->scheduled_once = true;
    out.scheduled.push_back({s, n});
    budget -= n;
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  return out;
}

std::unique_ptr<Sequence> Scheduler::remove(const Sequence* seq) {
  std::unique_ptr<Sequence> out;
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    if (it->get() == seq) {
      out = std::move(*it);
      running_.erase(it);
      break;
    }
  }
  if (!out) {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (it->get() == seq) {
        out = std::move(*it);
        waiting_.erase(it);
        break;
      }
    }
  }
  if (out) kv_.release(out->blocks);
  return out;
}

Sequence* Scheduler::find(const std::string& request_id) const {
  for (const auto& s : running_)
    if (s->req.request_id == request_id) return s.get();
  for (const auto& s : waiting_)
    if (s->req.request_id == request_id) return s.get();
  return nullptr;
}

std::vector<Sequence*> Scheduler::all() const {
  std::vector<Sequence*> out;
  for (const auto& s : running_) out.push_back(s.get());
  for (const auto& s : waiting_) out.push_back(s.get());
  return out;
}

}  // namespace fathom::engine
