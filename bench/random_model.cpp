// Writes a Hugging Face model folder with random bf16 weights of a real architecture's shapes
// (any config.json fathom loads: Llama, Qwen2, DeepSeek V2/V3), for benchmarks that need the
// real sizes but no real weights: fathom bench model, the serverless cold start, fathom plan.
//
//   build/dev/bench/random_model --config bench/shapes/r1-distill-qwen-1.5b.json --out DIR
//                                [--layers N] [--seed S] [--outlier-channels K [--outlier-scale S]]
// --layers keeps the first N layers (a smaller model of the same width for quick runs).
// Weights are uniform with the standard deviation 0.02 models are initialised with; norms are 1,
// except that --outlier-channels gives K evenly spaced channels of every layer's two norms the
// weight S (20): the few large activation channels trained models have, which AWQ's scale search
// is made for (random weights alone give near-uniform channels).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "model/config.h"
#include "tensor/dtype.h"

namespace {

using namespace fathom;

struct Writer {
  uint64_t state;
  std::vector<formats::OwnedTensor> tensors;

  uint64_t next() {  // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  void random(const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    formats::OwnedTensor t{name, DType::kBF16, std::move(shape),
                           std::vector<uint8_t>(static_cast<size_t>(n) * 2)};
    auto* p = reinterpret_cast<uint16_t*>(t.bytes.data());
    const float a = 0.02f * std::sqrt(3.0f);  // uniform on [-a, a] has standard deviation 0.02
    for (int64_t i = 0; i < n; i += 2) {
      const uint64_t r = next();
      p[i] = f32_to_bf16(a * (static_cast<float>(r & 0xffffffff) * 0x1p-31f - 1.0f));
      if (i + 1 < n) p[i + 1] = f32_to_bf16(a * (static_cast<float>(r >> 32) * 0x1p-31f - 1.0f));
    }
    tensors.push_back(std::move(t));
  }

  // A norm weight: 1, or `hot` on `num_hot` evenly spaced channels.
  void ones(const std::string& name, int64_t n, int64_t num_hot = 0, float hot = 1.0f) {
    formats::OwnedTensor t{
        name, DType::kBF16, {n}, std::vector<uint8_t>(static_cast<size_t>(n) * 2)};
    auto* p = reinterpret_cast<uint16_t*>(t.bytes.data());
    for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(1.0f);
    for (int64_t k = 0; k < num_hot; ++k) p[k * n / num_hot] = f32_to_bf16(hot);
    tensors.push_back(std::move(t));
  }

  void zeros(const std::string& name, int64_t n) {
    tensors.push_back({name, DType::kBF16, {n}, std::vector<uint8_t>(static_cast<size_t>(n) * 2)});
  }

  void mlp(const std::string& p, int64_t d, int64_t inter) {
    random(p + "gate_proj.weight", {inter, d});
    random(p + "up_proj.weight", {inter, d});
    random(p + "down_proj.weight", {d, inter});
  }
};

void dense_layer(Writer& w, const model::ModelConfig& c, const std::string& p) {
  const int64_t d = c.hidden_size, hd = c.head_dim;
  w.random(p + "self_attn.q_proj.weight", {c.num_heads * hd, d});
  w.random(p + "self_attn.k_proj.weight", {c.num_kv_heads * hd, d});
  w.random(p + "self_attn.v_proj.weight", {c.num_kv_heads * hd, d});
  w.random(p + "self_attn.o_proj.weight", {d, c.num_heads * hd});
  if (c.qkv_bias) {
    w.zeros(p + "self_attn.q_proj.bias", c.num_heads * hd);
    w.zeros(p + "self_attn.k_proj.bias", c.num_kv_heads * hd);
    w.zeros(p + "self_attn.v_proj.bias", c.num_kv_heads * hd);
  }
  w.mlp(p + "mlp.", d, c.intermediate_size);
}

void deepseek_layer(Writer& w, const model::ModelConfig& c, int64_t l, const std::string& p) {
  const auto& m = c.mla;
  const int64_t d = c.hidden_size, nh = c.num_heads, qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
  if (m.q_lora_rank > 0) {
    w.random(p + "self_attn.q_a_proj.weight", {m.q_lora_rank, d});
    w.ones(p + "self_attn.q_a_layernorm.weight", m.q_lora_rank);
    w.random(p + "self_attn.q_b_proj.weight", {nh * qk, m.q_lora_rank});
  } else {
    w.random(p + "self_attn.q_proj.weight", {nh * qk, d});
  }
  w.random(p + "self_attn.kv_a_proj_with_mqa.weight", {m.kv_lora_rank + m.qk_rope_head_dim, d});
  w.ones(p + "self_attn.kv_a_layernorm.weight", m.kv_lora_rank);
  w.random(p + "self_attn.kv_b_proj.weight",
           {nh * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank});
  w.random(p + "self_attn.o_proj.weight", {d, nh * m.v_head_dim});
  if (!c.is_moe_layer(l)) {
    w.mlp(p + "mlp.", d, c.intermediate_size);
    return;
  }
  const auto& e = c.moe;
  w.random(p + "mlp.gate.weight", {e.num_routed_experts, d});
  if (e.topk_method == model::TopkMethod::kNoauxTc)
    w.zeros(p + "mlp.gate.e_score_correction_bias", e.num_routed_experts);
  for (int64_t x = 0; x < e.num_routed_experts; ++x)
    w.mlp(p + "mlp.experts." + std::to_string(x) + ".", d, e.moe_intermediate_size);
  if (e.num_shared_experts > 0)
    w.mlp(p + "mlp.shared_experts.", d, e.moe_intermediate_size * e.num_shared_experts);
}

const char* flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const char* config_path = flag(argc, argv, "--config", nullptr);
  const char* out = flag(argc, argv, "--out", nullptr);
  if (!config_path || !out) {
    std::fprintf(stderr,
                 "usage: random_model --config CONFIG.json --out DIR [--layers N] [--seed S]\n"
                 "                    [--outlier-channels K [--outlier-scale S]]\n");
    return 2;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(std::ifstream(config_path));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", config_path, e.what());
    return 1;
  }
  if (const char* layers = flag(argc, argv, "--layers", nullptr))
    j["num_hidden_layers"] = std::atoll(layers);
  auto cfg = model::parse_model_config(j, config_path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().to_string().c_str());
    return 1;
  }
  const model::ModelConfig& c = *cfg;
  const int64_t num_hot = std::clamp<int64_t>(
      std::atoll(flag(argc, argv, "--outlier-channels", "0")), 0, c.hidden_size);
  const float hot = static_cast<float>(std::atof(flag(argc, argv, "--outlier-scale", "20")));
  Writer w{static_cast<uint64_t>(std::atoll(flag(argc, argv, "--seed", "1"))), {}};
  w.random("model.embed_tokens.weight", {c.vocab_size, c.hidden_size});
  if (!c.tie_word_embeddings) w.random("lm_head.weight", {c.vocab_size, c.hidden_size});
  w.ones("model.norm.weight", c.hidden_size);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    w.ones(p + "input_layernorm.weight", c.hidden_size, num_hot, hot);
    w.ones(p + "post_attention_layernorm.weight", c.hidden_size, num_hot, hot);
    if (c.family == model::ArchFamily::kDeepseek) {
      deepseek_layer(w, c, l, p);
    } else {
      dense_layer(w, c, p);
    }
  }
  std::filesystem::create_directories(out);
  const Status s = formats::write_safetensors(
      (std::filesystem::path(out) / "model.safetensors").string(), w.tensors);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  std::ofstream(std::filesystem::path(out) / "config.json") << j.dump(2) << "\n";
  int64_t bytes = 0;
  for (const auto& t : w.tensors) bytes += static_cast<int64_t>(t.bytes.size());
  std::printf("%s: %zu tensors, %.2f GB of bf16\n", out, w.tensors.size(), bytes / 1e9);
  return 0;
}
