// Blocking convenience over Engine::submit for command-line tools and tests.
#pragma once

#include <functional>

#include "engine/engine.h"

namespace fathom::engine {

struct Completion {
  std::vector<int32_t> ids;
  FinishReason finish = FinishReason::kNone;
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;
};

/// Submits `req` and waits for its last update. on_token (optional) sees each id as it
/// arrives, on the engine thread.
Result<Completion> run_to_completion(Engine& engine, EngineRequest req,
                                     const std::function<void(int32_t)>& on_token = {});

}  // namespace fathom::engine
