// Test adapters and their oracle: random PEFT LoRA adapters for a fixture model, and the
// checkpoint with an adapter merged into the base weights (W + scale * B A, written in F32 so
// the merge is exact to float rounding). Used by the unit tests and by tests/e2e through the
// lora_fixture tool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::testing {

struct RandomAdapterSpec {
  /// target_modules as PEFT writes it: module-name suffixes, or one regex when `regex` is set.
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  bool regex = false;
  int64_t rank = 4;
  double alpha = 8;
  bool use_rslora = false;
  uint64_t seed = 1;
  float magnitude = 0.2f;  ///< A and B entries are uniform in [-magnitude, magnitude]
};

/// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors (F32) with random factors
/// for every projection of the model at `base_dir` that the spec's target_modules select.
Status write_random_adapter(const std::string& base_dir, const std::string& dir,
                            const RandomAdapterSpec& spec);

/// Writes OUT_DIR: the base model folder's files with every adapted weight replaced by the
/// F32 merge W + scale * B A (computed in double). The base weights must be F32/BF16/F16.
Status write_merged_checkpoint(const std::string& base_dir, const std::string& adapter_dir,
                               const std::string& out_dir);

}  // namespace fathom::testing
