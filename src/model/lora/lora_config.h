// A PEFT LoRA adapter's adapter_config.json: rank, alpha, which modules it targets and how its
// update is scaled. Only what the unmerged forward can honour is accepted; every other setting
// (bias, modules_to_save, DoRA, per-layer rank or alpha patterns, ...) is a clear error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::model::lora {

/// PEFT's target_modules: a list of module-name suffixes ("q_proj" matches
/// "model.layers.0.self_attn.q_proj"), a regular expression that must match the whole module
/// name, or "all-linear" (every projection the model supports).
class TargetSpec {
 public:
  static TargetSpec names(std::vector<std::string> suffixes);
  static Result<TargetSpec> regex(const std::string& pattern);
  static TargetSpec all_linear();

  bool matches(std::string_view module) const;
  std::string describe() const;  ///< for error messages

 private:
  struct Pattern;
  std::vector<std::string> suffixes_;
  std::shared_ptr<const Pattern> pattern_;  // set for a regex
  bool all_ = false;
};

struct LoraConfig {
  int64_t rank = 0;         ///< r
  double alpha = 0;         ///< lora_alpha
  bool use_rslora = false;  ///< scale alpha / sqrt(r) instead of alpha / r
  TargetSpec targets = TargetSpec::names({});
  std::string base_model;  ///< base_model_name_or_path, informational

  /// The factor of the low-rank update: alpha / r, or alpha / sqrt(r) with rsLoRA.
  float scale() const;
};

/// Parses adapter_config.json text. `source` names the file in errors; every problem is
/// reported at once, each naming its field.
Result<LoraConfig> parse_lora_config(std::string_view text, const std::string& source);

}  // namespace fathom::model::lora
