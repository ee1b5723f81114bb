// The models `fathom plan` knows by name, with the architecture numbers of their published
// config.json files, and the resolution of a workload's `model:` (a name or a model folder).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "plan/weight_format.h"

namespace fathom::plan {

struct ModelSpec {
  std::string name;  ///< catalogue name or the folder's name
  model::ModelConfig config;
  WeightFormat native_format;  ///< what the published checkpoint stores
  std::string source;          ///< where the numbers come from
  std::string saas_offer;      ///< SaaS price entry that serves this model ("" = none)
};

/// Names of the built-in models, in catalogue order.
std::vector<std::string> builtin_model_names();

/// A catalogue name (case-insensitive, e.g. "deepseek-v3", "deepseek-r1-distill-qwen-7b") or a
/// folder holding a config.json (parsed by model::load_model_config, so every architecture
/// fathom serves works).
Result<ModelSpec> resolve_model(const std::string& name_or_dir);

}  // namespace fathom::plan
