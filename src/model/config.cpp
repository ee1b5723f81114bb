#include "model/config.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace fathom::model {
namespace {

using json = nlohmann::json;

// Reads fields of one JSON object, collecting every problem instead of stopping at the first.
class FieldReader {
 public:
  FieldReader(const json& j, std::string where, std::vector<std::string>& problems)
      : j_(j), where_(std::move(where)), problems_(problems) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  int64_t integer(const char* key, std::optional<int64_t> fallback, int64_t min_value = 0) {
    if (!has(key)) {
      if (!fallback) problem(key, "is required");
      return fallback.value_or(0);
    }
    const json& v = j_.at(key);
    if (!v.is_number_integer()) {
      problem(key, "must be an integer, got " + v.dump());
      return fallback.value_or(0);
    }
    int64_t x = v.get<int64_t>();
    if (x < min_value) problem(key, "must be >= " + std::to_string(min_value) + ", got " + v.dump());
    return x;
  }

  double number(const char* key, double fallback) {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number()) {
      problem(key, "must be a number, got " + v.dump());
      return fallback;
    }
    return v.get<double>();
  }

  bool boolean(const char* key, bool fallback) {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) {
      problem(key, "must be true or false, got " + v.dump());
      return fallback;
    }
    return v.get<bool>();
  }

  std::string string(const char* key, const std::string& fallback) {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_string()) {
      problem(key, "must be a string, got " + v.dump());
      return fallback;
    }
    return v.get<std::string>();
  }

  void problem(const std::string& key, const std::string& what) {
    problems_.push_back(where_ + key + " " + what);
  }

 private:
  const json& j_;
  std::string where_;
  std::vector<std::string>& problems_;
};

struct ArchEntry {
  const char* name;
  ArchFamily family;
};

constexpr ArchEntry kArchitectures[] = {
    {"LlamaForCausalLM", ArchFamily::kDense},
    {"Qwen2ForCausalLM", ArchFamily::kDense},
    {"DeepseekV2ForCausalLM", ArchFamily::kDeepseek},
    {"DeepseekV3ForCausalLM", ArchFamily::kDeepseek},
};

void parse_rope(const json& j, ModelConfig& cfg, std::vector<std::string>& problems) {
  FieldReader top(j, "", problems);
  RopeConfig& r = cfg.rope;
  r.theta = top.number("rope_theta", 10000.0);
  const json* params = nullptr;
  std::string where;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    params = &j["rope_parameters"];
    where = "rope_parameters.";
  } else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    params = &j["rope_scaling"];
    where = "rope_scaling.";
  }
  if (!params) return;
  FieldReader p(*params, where, problems);
  r.theta = p.number("rope_theta", r.theta);
  std::string type = p.string("rope_type", p.string("type", "default"));
  if (type == "default") {
    r.type = RopeType::kDefault;
  } else if (type == "linear") {
    r.type = RopeType::kLinear;
  } else if (type == "yarn") {
    r.type = RopeType::kYarn;
  } else if (type == "llama3") {
    r.type = RopeType::kLlama3;
  } else {
    p.problem("rope_type", "'" + type + "' is not supported (default, linear, yarn, llama3)");
  }
  r.factor = p.number("factor", 1.0);
  if (r.type != RopeType::kDefault && r.factor <= 0) p.problem("factor", "must be positive");
  r.original_max_position_embeddings = p.integer("original_max_position_embeddings", 0);
  r.beta_fast = p.number("beta_fast", 32.0);
  r.beta_slow = p.number("beta_slow", 1.0);
  r.mscale = p.number("mscale", 0.0);
  r.mscale_all_dim = p.number("mscale_all_dim", 0.0);
  if (p.has("attention_factor")) r.attention_factor = p.number("attention_factor", 1.0);
  r.truncate = p.boolean("truncate", true);
  r.low_freq_factor = p.number("low_freq_factor", 1.0);
  r.high_freq_factor = p.number("high_freq_factor", 4.0);
  if (r.type == RopeType::kLlama3 && r.original_max_position_embeddings <= 0)
    p.problem("original_max_position_embeddings", "is required for llama3 rope");
}

void parse_deepseek(const json& j, ModelConfig& cfg, std::vector<std::string>& problems) {
  FieldReader f(j, "", problems);
  MlaConfig& m = cfg.mla;
  m.q_lora_rank = f.integer("q_lora_rank", 0);
  m.kv_lora_rank = f.integer("kv_lora_rank", std::nullopt, 1);
  m.qk_nope_head_dim = f.integer("qk_nope_head_dim", std::nullopt, 1);
  m.qk_rope_head_dim = f.integer("qk_rope_head_dim", std::nullopt, 2);
  m.v_head_dim = f.integer("v_head_dim", std::nullopt, 1);
  if (m.qk_rope_head_dim % 2) f.problem("qk_rope_head_dim", "must be even");

  MoeConfig& e = cfg.moe;
  e.num_routed_experts = f.integer("n_routed_experts", 0);
  if (e.num_routed_experts > 0) {
    e.num_experts_per_tok = f.integer("num_experts_per_tok", std::nullopt, 1);
    e.num_shared_experts = f.integer("n_shared_experts", 0);
    e.moe_intermediate_size = f.integer("moe_intermediate_size", std::nullopt, 1);
    e.n_group = f.integer("n_group", 1, 1);
    e.topk_group = f.integer("topk_group", 1, 1);
    e.routed_scaling_factor = f.number("routed_scaling_factor", 1.0);
    e.norm_topk_prob = f.boolean("norm_topk_prob", false);
    e.first_k_dense_replace = f.integer("first_k_dense_replace", 0);
    e.moe_layer_freq = f.integer("moe_layer_freq", 1, 1);
    const std::string method = f.string("topk_method", "greedy");
    if (method == "greedy") {
      e.topk_method = TopkMethod::kGreedy;
    } else if (method == "group_limited_greedy") {
      e.topk_method = TopkMethod::kGroupLimitedGreedy;
    } else if (method == "noaux_tc") {
      e.topk_method = TopkMethod::kNoauxTc;
    } else {
      f.problem("topk_method", "'" + method + "' is not supported (greedy, group_limited_greedy, noaux_tc)");
    }
    const std::string scoring = f.string("scoring_func", "softmax");
    if (scoring == "softmax") {
      e.scoring_func = ScoringFunc::kSoftmax;
    } else if (scoring == "sigmoid") {
      e.scoring_func = ScoringFunc::kSigmoid;
    } else {
      f.problem("scoring_func", "'" + scoring + "' is not supported (softmax, sigmoid)");
    }
    if (e.n_group > 0 && e.num_routed_experts % e.n_group)
      f.problem("n_group", "must divide n_routed_experts");
    if (e.topk_group > e.n_group) f.problem("topk_group", "must be <= n_group");
    if (e.num_experts_per_tok > e.num_routed_experts)
      f.problem("num_experts_per_tok", "must be <= n_routed_experts");
    if (e.topk_method != TopkMethod::kGreedy && e.n_group > 0 &&
        e.num_experts_per_tok > e.topk_group * (e.num_routed_experts / e.n_group))
      f.problem("num_experts_per_tok", "exceeds the experts in topk_group groups");
  }
  cfg.num_nextn_predict_layers = f.integer("num_nextn_predict_layers", 0);
}

std::vector<int32_t> parse_ids(const json& j, const char* key) {
  std::vector<int32_t> out;
  if (!j.contains(key)) return out;
  const json& v = j.at(key);
  if (v.is_number_integer()) out.push_back(v.get<int32_t>());
  if (v.is_array())
    for (const auto& x : v)
      if (x.is_number_integer()) out.push_back(x.get<int32_t>());
  return out;
}

}  // namespace

Result<ModelConfig> parse_model_config(const json& j, const std::string& source) {
  if (!j.is_object()) return invalid_argument(source + ": not a JSON object");
  std::vector<std::string> problems;
  ModelConfig cfg;
  FieldReader f(j, "", problems);

  if (!j.contains("architectures") || !j["architectures"].is_array() ||
      j["architectures"].empty() || !j["architectures"][0].is_string()) {
    problems.push_back("architectures must be a non-empty list of strings");
  } else {
    cfg.architecture = j["architectures"][0].get<std::string>();
    bool known = false;
    for (const auto& a : kArchitectures) {
      if (cfg.architecture == a.name) {
        cfg.family = a.family;
        known = true;
      }
    }
    if (!known) {
      std::string list;
      for (const auto& a : kArchitectures) list += std::string(list.empty() ? "" : ", ") + a.name;
      problems.push_back("architecture '" + cfg.architecture + "' is not supported (" + list + ")");
    }
  }
  cfg.model_type = f.string("model_type", "");
  cfg.torch_dtype = f.string("torch_dtype", "");
  cfg.vocab_size = f.integer("vocab_size", std::nullopt, 1);
  cfg.hidden_size = f.integer("hidden_size", std::nullopt, 1);
  cfg.intermediate_size = f.integer("intermediate_size", std::nullopt, 1);
  cfg.num_layers = f.integer("num_hidden_layers", std::nullopt, 1);
  cfg.num_heads = f.integer("num_attention_heads", std::nullopt, 1);
  cfg.num_kv_heads = f.integer("num_key_value_heads", cfg.num_heads, 1);
  cfg.head_dim = f.integer("head_dim", cfg.num_heads > 0 ? cfg.hidden_size / cfg.num_heads : 0, 1);
  cfg.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  cfg.max_position_embeddings = f.integer("max_position_embeddings", 2048, 1);
  cfg.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  cfg.qkv_bias = cfg.architecture == "Qwen2ForCausalLM" || f.boolean("attention_bias", false);
  if (f.boolean("mlp_bias", false)) f.problem("mlp_bias", "true is not supported");
  const std::string act = f.string("hidden_act", "silu");
  if (act != "silu") f.problem("hidden_act", "'" + act + "' is not supported (silu)");
  if (cfg.num_heads > 0 && cfg.num_kv_heads > 0 && cfg.num_heads % cfg.num_kv_heads)
    f.problem("num_key_value_heads", "must divide num_attention_heads");
  if (f.boolean("use_sliding_window", false))
    f.problem("use_sliding_window", "true is not supported");
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
    cfg.bos_token_id = j["bos_token_id"].get<int32_t>();
  cfg.eos_token_ids = parse_ids(j, "eos_token_id");

  parse_rope(j, cfg, problems);
  if (cfg.family == ArchFamily::kDeepseek) parse_deepseek(j, cfg, problems);
  if (cfg.family == ArchFamily::kDense && cfg.head_dim % 2) f.problem("head_dim", "must be even");

  auto quant = parse_quant_config(j);
  if (!quant.ok()) {
    problems.push_back(quant.status().message());
  } else {
    cfg.quant = *quant;
  }
  if (!problems.empty()) {
    std::string msg = source + ": invalid model config:";
    for (const auto& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  return cfg;
}

Result<ModelConfig> load_model_config(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  std::ifstream in(path);
  if (!in) return not_found(path + ": cannot open (is this a Hugging Face model folder?)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    return invalid_argument(path + ": not valid JSON: " + e.what());
  }
  return parse_model_config(j, path);
}

}  // namespace fathom::model
