// Pulls an architecture's weights out of a checkpoint, collecting every problem (missing
// tensor, wrong shape, wrong dtype) so that load errors list them all at once.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "formats/checkpoint.h"
#include "kernels/linear_weight.h"
#include "kernels/quantize_weight.h"
#include "model/config.h"
#include "model/weight_cache.h"

namespace fathom::model {

class WeightLoader {
 public:
  /// `requantize`: every linear weight is quantized to it at load (--quantization).
  /// `cache` (may be null): weights produced in owned memory are looked up there first and
  /// recorded there when made.
  WeightLoader(const formats::Checkpoint& ck, const ModelConfig& cfg,
               std::optional<kernels::QuantTarget> requantize = std::nullopt,
               WeightCacheSession* cache = nullptr)
      : ck_(ck), cfg_(cfg), requantize_(requantize), cache_(cache) {}

  /// A 2-D weight [out, in] stored at PREFIX.weight (or its quantized companions).
  /// `requantize` false keeps the checkpoint's format under --quantization (MoE routers: a
  /// rounded router picks other experts).
  kernels::LinearWeight linear(const std::string& prefix, int64_t out_features, int64_t in_features,
                               bool requantize = true);
  /// A 1-D float-like tensor (norm weights, biases, router bias) converted to float.
  std::vector<float> vector(const std::string& name, int64_t size);

  /// OK, or every problem found. Logs checkpoint tensors nothing asked for (MTP layers of
  /// DeepSeek-V3 are expected and summarised in one line).
  Status finish();

 private:
  const formats::Checkpoint& ck_;
  const ModelConfig& cfg_;
  std::optional<kernels::QuantTarget> requantize_;
  WeightCacheSession* cache_;
  std::vector<std::string> problems_;
  std::set<std::string> used_prefixes_;
};

/// Rows [row0, row0 + rows) of w as a weight of their own, transposed or not: bf16 where w is
/// bf16 (exact), else float (dequantized exactly as the kernels would). MLA's per-head slices
/// of kv_b_proj.
kernels::LinearWeight slice_weight_rows(const kernels::LinearWeight& w, int64_t row0, int64_t rows,
                                        bool transpose);

}  // namespace fathom::model
