// DeepSeek V2 and V3 (and R1): multi-head latent attention, MoE with shared experts.
// V3 differs only in config (router scoring, expert counts, MTP layers), never in control flow.
#pragma once

#include <memory>

#include "formats/checkpoint.h"
#include "model/model.h"

namespace fathom::model {

Result<std::unique_ptr<Model>> make_deepseek(ModelConfig cfg, const formats::Checkpoint& ck,
                                             LoadOptions opts);

}  // namespace fathom::model
