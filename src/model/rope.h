// Derives the rotary tables (inverse frequencies and YaRN attention factor) from a RopeConfig,
// following the definitions transformers uses for each rope type.
#pragma once

#include "kernels/ops.h"
#include "model/config.h"

namespace fathom::model {

/// rot_dim: the rotated width of one head (head_dim, or qk_rope_head_dim for MLA).
kernels::RopeTable make_rope_table(const RopeConfig& rope, int64_t rot_dim,
                                   int64_t max_position_embeddings, kernels::RopeStyle style);

/// YaRN's magnitude correction 0.1 * m * ln(scale) + 1 (1 when scale <= 1).
double yarn_get_mscale(double scale, double m);

/// DeepSeek's attention softmax scale: qk_head_dim^-0.5, times mscale(factor, mscale_all_dim)^2
/// under YaRN.
float deepseek_softmax_scale(const ModelConfig& cfg);

}  // namespace fathom::model
