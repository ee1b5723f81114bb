// Writes a Hugging Face model folder derived from another: config.json (edited), the
// tokenizer files copied, and one model.safetensors with the checkpoint's tensors, some
// replaced or dropped.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/checkpoint.h"
#include "formats/safetensors.h"

namespace fathom::quant {

/// The tensors of `ck` whose names are not in `drop`, copied as stored, then `add`.
std::vector<formats::OwnedTensor> merge_tensors(const formats::Checkpoint& ck,
                                                const std::set<std::string>& drop,
                                                std::vector<formats::OwnedTensor> add);

/// Reads `dir`/config.json.
Result<nlohmann::json> read_config_json(const std::string& dir);

/// Creates out_dir, writes config (indented) and tensors, copies tokenizer.json,
/// tokenizer_config.json, generation_config.json and chat_template.jinja where src_dir has them.
Status write_model_folder(const std::string& src_dir, const std::string& out_dir,
                          const nlohmann::json& config, std::vector<formats::OwnedTensor> tensors);

/// `values` as tensor `name` of `shape`, stored in `like`'s float dtype (F32, BF16 or F16).
formats::OwnedTensor float_tensor(const std::string& name, DType like, std::vector<int64_t> shape,
                                  const std::vector<float>& values);

/// A float-like (F32, BF16, F16) tensor as floats; an error naming it otherwise.
Result<std::vector<float>> tensor_floats(const formats::TensorView& t);

}  // namespace fathom::quant
