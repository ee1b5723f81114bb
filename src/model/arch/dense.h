// Llama-style dense decoders: LlamaForCausalLM (deepseek-llm, R1-Distill-Llama) and
// Qwen2ForCausalLM (R1-Distill-Qwen; qkv bias, tied embeddings). One file, steered by config.
#pragma once

#include <memory>

#include "formats/checkpoint.h"
#include "model/model.h"

namespace fathom::model {

Result<std::unique_ptr<Model>> make_dense(ModelConfig cfg, const formats::Checkpoint& ck,
                                          LoadOptions opts);

}  // namespace fathom::model
