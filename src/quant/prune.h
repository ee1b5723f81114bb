// fathom prune: magnitude and Wanda (|W| x ||X||) pruning, unstructured or 2:4, written as
// zeros into a dense checkpoint; and structured width pruning (MLP channels, whole attention
// KV groups with their query heads) into a smaller dense model with a consistent config.json.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::quant {

enum class PruneMethod : uint8_t { kMagnitude, kWanda };
Result<PruneMethod> parse_prune_method(const std::string& text);

/// Zeros in one row of scores' weights: the `count` lowest scores of each row (unstructured,
/// Wanda's per-output comparison group) or the 2 lowest of every 4 consecutive inputs (2:4).
/// scores: [out, in] row-major; returns the keep mask (1 = kept).
std::vector<uint8_t> unstructured_mask(const std::vector<float>& scores, int64_t out, int64_t in,
                                       double sparsity);
std::vector<uint8_t> two_four_mask(const std::vector<float>& scores, int64_t out, int64_t in);

struct PruneOptions {
  PruneMethod method = PruneMethod::kMagnitude;
  double sparsity = 0.5;              ///< unstructured
  bool two_four = false;              ///< 2:4 instead of sparsity
  bool structured = false;            ///< width pruning
  double mlp_keep = 0.75;             ///< structured: fraction of MLP channels kept
  double heads_keep = 0.75;           ///< structured: fraction of KV groups (with their heads) kept
  std::vector<int32_t> calib_tokens;  ///< wanda and structured
  int64_t samples = 32;
  int64_t ctx = 512;
  std::FILE* progress = nullptr;
};

struct PruneReport {
  int64_t layers = 0;
  int64_t zeroed = 0;  ///< unstructured / 2:4: weights set to zero
  int64_t intermediate_size = 0, num_heads = 0, num_kv_heads = 0;  ///< structured: new widths
};

/// Dense llama/qwen2-style checkpoints (model.layers.L.self_attn.{q,k,v,o}_proj,
/// mlp.{gate,up,down}_proj); refuses quantized ones.
Result<PruneReport> prune_model(const std::string& model_dir, const std::string& out_dir,
                                const PruneOptions& opts);

}  // namespace fathom::quant
