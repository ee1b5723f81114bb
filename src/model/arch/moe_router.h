// DeepSeek MoE routing as a pure function: router logits in, chosen experts and weights out.
//   greedy               (V2-Lite): softmax, top-k
//   group_limited_greedy (V2):      softmax, keep the topk_group groups with the best single
//                                   expert, top-k among them
//   noaux_tc             (V3/R1):   sigmoid; choose with score + e_score_correction_bias,
//                                   groups ranked by the sum of their best two; weights are the
//                                   unbiased scores
// then optional normalisation (norm_topk_prob) and routed_scaling_factor.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace fathom::model {

struct RoutingResult {
  std::vector<int32_t> expert_idx;  ///< [num_tokens, top_k]
  std::vector<float> weight;        ///< [num_tokens, top_k]
};

/// router_logits: [num_tokens, num_routed_experts]. correction_bias: [num_routed_experts] or
/// empty (required by noaux_tc).
RoutingResult route_tokens(const MoeConfig& cfg, const float* router_logits, int64_t num_tokens,
                           const std::vector<float>& correction_bias);

}  // namespace fathom::model
