// A LoRA adapter loaded against one base model: for each projection it targets, the low-rank
// factors A [r, in] and B [out, r] in float, applied unmerged as y += scale * (x A^T) B^T.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "kernels/linear_weight.h"

namespace fathom::model::lora {

/// One projection an adapter may target, named as PEFT names modules
/// ("model.layers.3.self_attn.q_proj"), with the base weight's shape.
struct LoraTarget {
  std::string module;
  int64_t out_features = 0;
  int64_t in_features = 0;
};

/// Every projection of a loaded model that adapters may target, in registration order.
class TargetTable {
 public:
  /// Returns the target's index.
  int32_t add(LoraTarget t);
  /// -1 when the model has no such target.
  int32_t find(const std::string& module) const;
  const std::vector<LoraTarget>& targets() const { return targets_; }
  /// Changes with any name or shape: an adapter built for another model does not match.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  std::vector<LoraTarget> targets_;
  std::unordered_map<std::string, int32_t> index_;
  uint64_t fingerprint_ = 0;
};

struct LoraDelta {
  kernels::LinearWeight a;  ///< [r, in] kF32
  kernels::LinearWeight b;  ///< [out, r] kF32
};

struct LoraAdapter {
  std::string name;
  std::string path;
  int64_t rank = 0;
  float scale = 1.0f;
  /// Distinct for every load (never reused), so a prefix cached under one adapter is never
  /// found under another, nor under a later adapter loaded with the same name.
  uint64_t cache_salt = 0;
  uint64_t targets_fingerprint = 0;
  std::vector<std::optional<LoraDelta>> deltas;  ///< [targets().size()], set where targeted
  int64_t size_bytes = 0;
};

/// Loads DIR/adapter_config.json and DIR/adapter_model.safetensors against `targets`. Checks
/// the config, every tensor name (modules the model does not have are listed), every shape
/// against the base model and the rank, and that A and B come in pairs; reports every problem.
Result<std::shared_ptr<const LoraAdapter>> load_lora_adapter(const std::string& name,
                                                             const std::string& dir,
                                                             const TargetTable& targets);

}  // namespace fathom::model::lora
