// The memory model: what a model's weights weigh in a given format, what one token of KV cache
// costs, and what a decode step must read. Derived from the architecture (model::ModelConfig)
// tensor by tensor, the same tensors the checkpoints hold; see docs/plan.md for the formulas.
#pragma once

#include <cstdint>

#include "model/config.h"
#include "plan/weight_format.h"

namespace fathom::plan {

/// Weights of one model in one format, split by how often a decode step reads them.
struct WeightFootprint {
  int64_t total_params = 0;
  int64_t active_params = 0;    ///< per token: all but unrouted experts and the embedding table
  int64_t total_bytes = 0;      ///< everything the checkpoint stores (MTP layers excluded)
  int64_t embedding_bytes = 0;  ///< the token table: one row read per token
  int64_t always_read_bytes =
      0;  ///< read every step: attention, dense MLPs, shared experts, routers, norms, lm_head
  int64_t expert_bytes = 0;  ///< one routed expert of one layer (gate + up + down)
  int64_t num_moe_layers = 0;
  int64_t num_routed_experts = 0;
  int64_t experts_per_token = 0;
  int64_t linear_flops_per_token = 0;  ///< 2 x active linear weights (matmul multiply-adds)
};

WeightFootprint weight_footprint(const model::ModelConfig& cfg, const WeightFormat& fmt);

/// KV cache bytes per token over all layers: MLA (DeepSeek V2/V3) caches the normalised latent
/// and the rotated rope key, (kv_lora_rank + qk_rope_head_dim); other models cache K and V of
/// every KV head, 2 x num_kv_heads x head_dim.
int64_t kv_bytes_per_token(const model::ModelConfig& cfg, KvDtype dtype);

/// Attention FLOPs of one token at context position `context` (scores + weighted sum, all
/// layers); MLA counts the absorbed form fathom runs (latent-sized dot products).
double attention_flops_per_token(const model::ModelConfig& cfg, int64_t context);

/// Weight bytes one decode step of `batch` tokens reads: the always-read part plus the routed
/// experts the batch touches (expected distinct experts E * (1 - (1 - k/E)^batch) per layer).
double decode_weight_bytes(const WeightFootprint& w, int64_t batch);

}  // namespace fathom::plan
