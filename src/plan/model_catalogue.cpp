#include "plan/model_catalogue.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace fathom::plan {
namespace {

// The config.json fields that shape memory and compute, copied from each model's Hugging Face
// repository (deepseek-ai/<name>, files config.json, read 2025-12). Rope scaling is omitted
// where it does not change sizes.
struct BuiltinModel {
  const char* name;
  const char* alias;
  const char* config;
  const char* native_format;
  const char* saas_offer;
};

constexpr const char* kV3 =
    R"({"architectures":["DeepseekV3ForCausalLM"],"model_type":"deepseek_v3",
 "vocab_size":129280,"hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,
 "num_hidden_layers":61,"num_attention_heads":128,"num_key_value_heads":128,"q_lora_rank":1536,
 "kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
 "n_routed_experts":256,"num_experts_per_tok":8,"n_shared_experts":1,"first_k_dense_replace":3,
 "moe_layer_freq":1,"n_group":8,"topk_group":4,"topk_method":"noaux_tc","scoring_func":"sigmoid",
 "norm_topk_prob":true,"routed_scaling_factor":2.5,"max_position_embeddings":163840,
 "num_nextn_predict_layers":1,"tie_word_embeddings":false,"rms_norm_eps":1e-6,"rope_theta":10000})";

constexpr const char* kV2 =
    R"({"architectures":["DeepseekV2ForCausalLM"],"model_type":"deepseek_v2",
 "vocab_size":102400,"hidden_size":5120,"intermediate_size":12288,"moe_intermediate_size":1536,
 "num_hidden_layers":60,"num_attention_heads":128,"num_key_value_heads":128,"q_lora_rank":1536,
 "kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
 "n_routed_experts":160,"num_experts_per_tok":6,"n_shared_experts":2,"first_k_dense_replace":1,
 "moe_layer_freq":1,"n_group":8,"topk_group":3,"topk_method":"group_limited_greedy",
 "routed_scaling_factor":16.0,"max_position_embeddings":163840,"tie_word_embeddings":false,
 "rms_norm_eps":1e-6,"rope_theta":10000})";

constexpr const char* kV2Lite =
    R"({"architectures":["DeepseekV2ForCausalLM"],"model_type":"deepseek_v2",
 "vocab_size":102400,"hidden_size":2048,"intermediate_size":10944,"moe_intermediate_size":1408,
 "num_hidden_layers":27,"num_attention_heads":16,"num_key_value_heads":16,"q_lora_rank":null,
 "kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,
 "n_routed_experts":64,"num_experts_per_tok":6,"n_shared_experts":2,"first_k_dense_replace":1,
 "moe_layer_freq":1,"n_group":1,"topk_group":1,"topk_method":"greedy","routed_scaling_factor":1.0,
 "max_position_embeddings":163840,"tie_word_embeddings":false,"rms_norm_eps":1e-6,"rope_theta":10000})";

#define FATHOM_QWEN2(VOCAB, HIDDEN, INTER, LAYERS, HEADS, KV)                                    \
  "{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\",\"vocab_size\":" #VOCAB    \
  ",\"hidden_size\":" #HIDDEN ",\"intermediate_size\":" #INTER ",\"num_hidden_layers\":" #LAYERS \
  ",\"num_attention_heads\":" #HEADS ",\"num_key_value_heads\":" #KV                             \
  ",\"max_position_embeddings\":131072,\"tie_word_embeddings\":false,\"rms_norm_eps\":1e-6,"     \
  "\"rope_theta\":10000}"
#define FATHOM_LLAMA(VOCAB, HIDDEN, INTER, LAYERS, HEADS, KV, POS)                               \
  "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"vocab_size\":" #VOCAB    \
  ",\"hidden_size\":" #HIDDEN ",\"intermediate_size\":" #INTER ",\"num_hidden_layers\":" #LAYERS \
  ",\"num_attention_heads\":" #HEADS ",\"num_key_value_heads\":" #KV                             \
  ",\"max_position_embeddings\":" #POS                                                           \
  ",\"tie_word_embeddings\":false,\"rms_norm_eps\":1e-6,"                                        \
  "\"rope_theta\":500000}"

constexpr BuiltinModel kModels[] = {
    {"deepseek-v3", "deepseek-v3-671b", kV3, "fp8", "deepseek-chat"},
    {"deepseek-r1", "deepseek-r1-671b", kV3, "fp8", "deepseek-reasoner"},
    {"deepseek-v2", "deepseek-v2-236b", kV2, "bf16", ""},
    {"deepseek-v2-lite", "deepseek-v2-lite-16b", kV2Lite, "bf16", ""},
    {"deepseek-r1-distill-qwen-1.5b", "r1-distill-qwen-1.5b",
     FATHOM_QWEN2(151936, 1536, 8960, 28, 12, 2), "bf16", ""},
    {"deepseek-r1-distill-qwen-7b", "r1-distill-qwen-7b",
     FATHOM_QWEN2(152064, 3584, 18944, 28, 28, 4), "bf16", ""},
    {"deepseek-r1-distill-qwen-14b", "r1-distill-qwen-14b",
     FATHOM_QWEN2(152064, 5120, 13824, 48, 40, 8), "bf16", ""},
    {"deepseek-r1-distill-qwen-32b", "r1-distill-qwen-32b",
     FATHOM_QWEN2(152064, 5120, 27648, 64, 40, 8), "bf16", ""},
    {"deepseek-r1-distill-llama-8b", "r1-distill-llama-8b",
     FATHOM_LLAMA(128256, 4096, 14336, 32, 32, 8, 131072), "bf16", ""},
    {"deepseek-r1-distill-llama-70b", "r1-distill-llama-70b",
     FATHOM_LLAMA(128256, 8192, 28672, 80, 64, 8, 131072), "bf16", ""},
    {"deepseek-llm-7b", "deepseek-llm-7b-chat", FATHOM_LLAMA(102400, 4096, 11008, 30, 32, 32, 4096),
     "bf16", ""},
    {"deepseek-llm-67b", "deepseek-llm-67b-chat",
     FATHOM_LLAMA(102400, 8192, 22016, 95, 64, 8, 4096), "bf16", ""},
};

#undef FATHOM_QWEN2
#undef FATHOM_LLAMA

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<ModelSpec> from_builtin(const BuiltinModel& m) {
  const nlohmann::json j = nlohmann::json::parse(m.config);
  FATHOM_ASSIGN_OR_RETURN(model::ModelConfig cfg,
                          model::parse_model_config(j, std::string("built-in ") + m.name));
  FATHOM_ASSIGN_OR_RETURN(WeightFormat fmt, WeightFormat::parse(m.native_format));
  return ModelSpec{
      m.name, std::move(cfg), fmt,
      std::string("https://huggingface.co/deepseek-ai/ (config.json of ") + m.name + ")",
      m.saas_offer};
}

}  // namespace

std::vector<std::string> builtin_model_names() {
  std::vector<std::string> out;
  for (const BuiltinModel& m : kModels) out.emplace_back(m.name);
  return out;
}

Result<ModelSpec> resolve_model(const std::string& name_or_dir) {
  namespace fs = std::filesystem;
  const std::string key = lower(name_or_dir);
  for (const BuiltinModel& m : kModels)
    if (key == m.name || key == m.alias) return from_builtin(m);
  std::error_code ec;
  if (!fs::exists(fs::path(name_or_dir) / "config.json", ec)) {
    std::string names;
    for (const BuiltinModel& m : kModels) names += std::string(names.empty() ? "" : ", ") + m.name;
    return not_found("model: '" + name_or_dir + "' is neither a built-in model (" + names +
                     ") nor a folder with a config.json");
  }
  FATHOM_ASSIGN_OR_RETURN(model::ModelConfig cfg, model::load_model_config(name_or_dir));
  const WeightFormat fmt = WeightFormat::from_quant_config(cfg.quant);
  std::string name = fs::path(name_or_dir).lexically_normal().filename().string();
  if (name.empty())
    name = fs::path(name_or_dir).lexically_normal().parent_path().filename().string();
  return ModelSpec{name, std::move(cfg), fmt, name_or_dir + "/config.json", ""};
}

}  // namespace fathom::plan
