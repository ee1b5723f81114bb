#include "engine/generator.h"

#include <algorithm>

#include "kv/block_pool.h"

namespace fathom::engine {

Result<GenerateResult> generate(model::Model& m, const GenerateRequest& req,
                                const std::function<void(int32_t)>& on_token) {
  FATHOM_RETURN_IF_ERROR(validate(req.sampling));
  const auto& cfg = m.config();
  const int64_t prompt_len = static_cast<int64_t>(req.prompt_ids.size());
  if (prompt_len == 0) return invalid_argument("prompt is empty");
  if (req.max_tokens < 0) return invalid_argument("max_tokens must be >= 0");
  if (req.block_size <= 0 || req.prefill_chunk <= 0)
    return invalid_argument("block_size and prefill_chunk must be positive");
  const int64_t total = prompt_len + req.max_tokens;
  if (total > cfg.max_position_embeddings)
    return invalid_argument("prompt (" + std::to_string(prompt_len) + " tokens) + max_tokens (" +
                            std::to_string(req.max_tokens) + ") exceeds the context length " +
                            std::to_string(cfg.max_position_embeddings));

  const int32_t num_blocks = kv::blocks_for_tokens(total, req.block_size);
  FATHOM_ASSIGN_OR_RETURN(auto storage,
                          runtime::KvStorage::allocate(m.kv_layout(), num_blocks, req.block_size));
  kv::BlockPool pool(num_blocks);
  auto blocks = pool.allocate(num_blocks);
  if (!blocks) return internal_error("fresh block pool could not hand out its blocks");

  model::ForwardBatch batch;
  batch.block_tables = {*blocks};
  Sampler sampler(req.sampling.seed);
  GenerateResult out;
  std::vector<float> logits;
  std::vector<int32_t> pending = req.prompt_ids;  // tokens not yet in the cache
  int64_t num_cached = 0;
  while (static_cast<int64_t>(out.ids.size()) < req.max_tokens) {
    const int64_t chunk = std::min<int64_t>(static_cast<int64_t>(pending.size()), req.prefill_chunk);
    batch.token_ids.assign(pending.begin(), pending.begin() + chunk);
    batch.positions.resize(chunk);
    for (int64_t i = 0; i < chunk; ++i) batch.positions[i] = static_cast<int32_t>(num_cached + i);
    batch.seq_idx.assign(chunk, 0);
    const bool last_chunk = chunk == static_cast<int64_t>(pending.size());
    batch.output_rows.clear();
    if (last_chunk) batch.output_rows.push_back(static_cast<int32_t>(chunk - 1));
    FATHOM_RETURN_IF_ERROR(m.forward(batch, storage, logits));
    num_cached += chunk;
    pending.erase(pending.begin(), pending.begin() + chunk);
    if (!last_chunk) continue;

    const int32_t next = sampler.sample(logits.data(), cfg.vocab_size, req.sampling);
    out.ids.push_back(next);
    if (on_token) on_token(next);
    if (std::find(req.stop_ids.begin(), req.stop_ids.end(), next) != req.stop_ids.end()) {
      out.stopped_on_id = true;
      break;
    }
    pending = {next};
  }
  return out;
}

}  // namespace fathom::engine
