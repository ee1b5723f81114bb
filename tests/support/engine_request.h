// A request for engine tests: greedy, EOS ignored, so its length is exactly max_tokens.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/request.h"

namespace fathom::testing {

inline engine::EngineRequest request(const std::string& id, std::vector<int32_t> prompt,
                                     int64_t max_tokens) {
  engine::EngineRequest r;
  r.request_id = id;
  r.prompt_ids = std::move(prompt);
  r.params.max_tokens = max_tokens;
  r.params.ignore_eos = true;
  return r;
}

}  // namespace fathom::testing
