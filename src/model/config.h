// ModelConfig: what fathom needs from a Hugging Face config.json, validated, for every
// supported architecture. Parsing reports every bad field at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "model/quant_config.h"

namespace fathom::model {

enum class RopeType { kDefault, kLinear, kYarn, kLlama3 };

struct RopeConfig {
  double theta = 10000.0;
  RopeType type = RopeType::kDefault;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;  ///< 0 = not given
  // YaRN
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 0.0;          ///< 0 = not given
  double mscale_all_dim = 0.0;  ///< 0 = not given
  std::optional<double> attention_factor;
  bool truncate = true;
  // Llama 3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
};

/// Multi-head latent attention (DeepSeek V2/V3).
struct MlaConfig {
  int64_t q_lora_rank = 0;  ///< 0 = no q compression (V2-Lite)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
};

enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };
enum class ScoringFunc { kSoftmax, kSigmoid };

struct MoeConfig {
  int64_t num_routed_experts = 0;  ///< 0 = dense model
  int64_t num_experts_per_tok = 0;
  int64_t num_shared_experts = 0;
  int64_t moe_intermediate_size = 0;
  TopkMethod topk_method = TopkMethod::kGreedy;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  double routed_scaling_factor = 1.0;
  bool norm_topk_prob = false;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
};

enum class ArchFamily { kDense, kDeepseek };

struct ModelConfig {
  std::string architecture;  ///< e.g. "DeepseekV3ForCausalLM"
  std::string model_type;
  std::string torch_dtype;  ///< config.json's "torch_dtype" ("bfloat16", ...); "" when absent
  ArchFamily family = ArchFamily::kDense;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  ///< Qwen2 always; Llama when attention_bias
  int64_t num_nextn_predict_layers = 0;  ///< DeepSeek-V3 MTP layers (skipped)
  RopeConfig rope;
  MlaConfig mla;
  MoeConfig moe;
  QuantConfig quant;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;

  bool is_moe_layer(int64_t layer_idx) const {
    return moe.num_routed_experts > 0 && layer_idx >= moe.first_k_dense_replace &&
           layer_idx % moe.moe_layer_freq == 0;
  }
};

/// `source` names the file in error messages.
Result<ModelConfig> parse_model_config(const nlohmann::json& j, const std::string& source);
/// Reads DIR/config.json.
Result<ModelConfig> load_model_config(const std::string& model_dir);

}  // namespace fathom::model
