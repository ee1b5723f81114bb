// A request inside the engine: its tokens, how many are already in the KV cache, its blocks,
// its sampler and its timings. Owned by the scheduler.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "engine/request.h"
#include "engine/sampler.h"
#include "kv/kv_cache_manager.h"

namespace fathom::engine {

struct Sequence {
  Sequence(EngineRequest r, UpdateCallback cb, Clock::TimePoint now)
      : req(std::move(r)),
        on_update(std::move(cb)),
        tokens(req.prompt_ids),
        num_prompt_tokens(static_cast<int64_t>(req.prompt_ids.size())),
        sampler(req.params.sampling.seed),
        arrival(now) {
    blocks.cache_salt = req.lora ? req.lora->cache_salt : 0;  // prefix cache keyed by adapter
    if (req.params.constraint)
      matcher = std::make_unique<grammar::TokenMatcher>(*req.params.constraint);
  }

  int64_t num_tokens() const { return static_cast<int64_t>(tokens.size()); }
  int64_t num_generated() const { return num_tokens() - num_prompt_tokens; }
  /// tokens plus the draft the next step verifies (speculative decoding).
  int64_t num_tokens_with_draft() const { return num_tokens() + static_cast<int64_t>(draft.size()); }
  /// Drops the draft tokens that a grant of num_new tokens from num_computed does not reach.
  void fit_draft(int64_t num_new) {
    const int64_t room = num_computed + num_new - num_tokens();
    if (room < static_cast<int64_t>(draft.size())) draft.resize(static_cast<size_t>(std::max<int64_t>(0, room)));
  }

  EngineRequest req;
  UpdateCallback on_update;
  std::vector<int32_t> tokens;  ///< prompt + generated
  int64_t num_prompt_tokens;
  int64_t num_computed = 0;       ///< tokens whose KV is in the cache
  std::vector<int32_t> draft;     ///< speculative tokens after `tokens`, verified next step
  int64_t num_cached_prompt = 0;  ///< prompt tokens that came from the prefix cache
  kv::SequenceBlocks blocks;
  Sampler sampler;
  std::unique_ptr<grammar::TokenMatcher> matcher;  ///< set for structured output
  bool scheduled_once = false;
  bool queue_time_recorded = false;
  Clock::TimePoint arrival;
  Clock::TimePoint first_token_time{};
  Clock::TimePoint last_token_time{};
};

}  // namespace fathom::engine
