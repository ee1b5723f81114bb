// Single-request generation over the paged KV cache: prefill the prompt (in chunks), then
// decode one token per step. The server's continuous-batching scheduler drives the same
// Model::forward with many sequences per step.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/status.h"
#include "engine/sampler.h"
#include "model/model.h"

namespace fathom::engine {

struct GenerateRequest {
  std::vector<int32_t> prompt_ids;
  int64_t max_tokens = 16;
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;  ///< generation ends after emitting one of these
  int32_t block_size = 16;
  int64_t prefill_chunk = 512;  ///< prompt tokens per forward step
};

struct GenerateResult {
  std::vector<int32_t> ids;
  bool stopped_on_id = false;  ///< false: ended at max_tokens
};

/// on_token (optional) is called with each new id as it is produced.
Result<GenerateResult> generate(model::Model& m, const GenerateRequest& req,
                                const std::function<void(int32_t)>& on_token = {});

}  // namespace fathom::engine
