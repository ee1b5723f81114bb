#include "engine/run_to_completion.h"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace fathom::engine {

Result<Completion> run_to_completion(Engine& engine, EngineRequest req,
                                     const std::function<void(int32_t)>& on_token) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    Completion c;
    Status error;
    bool done = false;
  };
  auto st = std::make_shared<State>();
  FATHOM_RETURN_IF_ERROR(engine.submit(std::move(req), [st, on_token](RequestUpdate u) {
    std::lock_guard<std::mutex> lock(st->mu);
    for (const auto& t : u.tokens) {
      st->c.ids.push_back(t.token_id);
      if (on_token) on_token(t.token_id);
    }
    if (u.finish == FinishReason::kNone) return;
    st->c.finish = u.finish;
    st->c.prompt_tokens = u.prompt_tokens;
    st->c.cached_prompt_tokens = u.cached_prompt_tokens;
    st->error = u.error;
    st->done = true;
    st->cv.notify_all();
  }));
  std::unique_lock<std::mutex> lock(st->mu);
  st->cv.wait(lock, [&] { return st->done; });
  if (!st->error.ok()) return st->error;
  return st->c;
}

}  // namespace fathom::engine
