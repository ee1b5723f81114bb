// A GGUF model file (as llama.cpp's convert_hf_to_gguf.py writes it) opened as what the Hugging
// Face path produces: a ModelConfig (the metadata turned into a config.json object and parsed by
// parse_model_config, so every check applies) and a Checkpoint whose tensors carry Hugging Face
// names. Architectures: llama, qwen2, deepseek2 (V2 and V3). Undone at load: llama's Q/K row
// permutation (rows permuted, blocks untouched), MLA's attn_k_b / attn_v_b split (rebuilt as
// kv_b_proj in F32), the per-layer stacks of experts (sliced, zero-copy).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "base/status.h"
#include "formats/checkpoint.h"
#include "formats/gguf.h"
#include "model/config.h"

namespace fathom::model {

struct GgufModel {
  ModelConfig config;
  std::shared_ptr<const formats::Checkpoint> checkpoint;
};

/// True when `path` is a regular file that starts with the GGUF magic.
bool is_gguf_model(const std::string& path);

/// Opens and maps the file; errors name the metadata key or tensor at fault.
Result<GgufModel> open_gguf_model(const std::string& path);

/// The config.json equivalent of a GGUF file's metadata (every missing or mistyped key listed).
Result<nlohmann::json> gguf_config_json(const formats::GgufContents& g, const std::string& source);

}  // namespace fathom::model
