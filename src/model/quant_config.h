// The `quantization_config` of a Hugging Face config.json: which quantized weight format the
// checkpoint's linear layers use and its parameters. Read by model/linear_loader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace fathom::model {

enum class QuantMethod : uint8_t {
  kNone,              ///< no quantization_config: float weights only
  kFp8Block,          ///< quant_method "fp8": DeepSeek-V3 block-scaled float8_e4m3fn
  kGptq,              ///< quant_method "gptq": 4-bit, qweight/qzeros/scales[/g_idx]
  kAwq,               ///< quant_method "awq": 4-bit GEMM layout
  kCompressedTensors, ///< quant_method "compressed-tensors": int8 per-channel (W8A16)
};

const char* quant_method_name(QuantMethod m);

struct QuantConfig {
  QuantMethod method = QuantMethod::kNone;

  // kFp8Block: weight_block_size [block_out, block_in]. Activations stay float in fathom
  // (activation_scheme "dynamic" quantizes them per token at run time in the original).
  int32_t block_out = 0;
  int32_t block_in = 0;

  // kGptq / kAwq.
  int32_t bits = 0;
  int32_t group_size = 0;  ///< -1 = one group spanning the whole input row
  bool desc_act = false;   ///< GPTQ act-order: g_idx is a permuted assignment
  bool sym = true;         ///< GPTQ symmetric (informational: zeros are stored either way)
  bool gptq_v2 = false;    ///< checkpoint_format "gptq_v2": stored zeros are true zeros
  bool zero_point = true;  ///< AWQ

  // kCompressedTensors: "pack-quantized" or "int-quantized"; num_bits 8, symmetric, channel.
  std::string format;
  int32_t num_bits = 0;

  /// Modules left unquantized (compressed-tensors `ignore`, AWQ `modules_to_not_convert`):
  /// exact module names (e.g. "lm_head", matched also as a dotted suffix) or "re:<regex>".
  std::vector<std::string> ignore;

  /// True when `module` (e.g. "model.layers.0.mlp.down_proj" or "lm_head") is listed in
  /// `ignore`. The loader picks formats from the tensors present; this is for callers that
  /// want to know what to expect.
  bool is_ignored(const std::string& module) const;
};

/// Reads `quantization_config` from a whole config.json object; absent (or null) -> kNone.
/// Every problem is reported at once, each naming its field, e.g.
/// "config.json: quantization_config.bits: 3 is not supported (4 only for gptq)".
Result<QuantConfig> parse_quant_config(const nlohmann::json& config_json);

}  // namespace fathom::model
