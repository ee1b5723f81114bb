#include "quant/kquant_mix.h"

#include <cstdio>
#include <utility>

namespace fathom::quant {
namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama-quant.cpp use_more_bits: the first and last eighth of the layers and every third
// layer between get the larger type.
bool use_more_bits(int64_t i_layer, int64_t n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

// The layer of "blk.N.*" (-1 when the name has none).
int64_t layer_of(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

}  // namespace

const char* kquant_mix_name(KQuantMix m) {
  switch (m) {
    case KQuantMix::kQ4_K_M:
      return "q4_k_m";
    case KQuantMix::kQ5_K_M:
      return "q5_k_m";
    case KQuantMix::kQ6_K:
      return "q6_k";
    case KQuantMix::kQ8_0:
      return "q8_0";
  }
  return "unknown";
}

bool parse_kquant_mix(const std::string& text, KQuantMix* out) {
  for (KQuantMix m : {KQuantMix::kQ4_K_M, KQuantMix::kQ5_K_M, KQuantMix::kQ6_K, KQuantMix::kQ8_0})
    if (text == kquant_mix_name(m)) {
      *out = m;
      return true;
    }
  return false;
}

GgmlType kquant_mix_default_type(KQuantMix m) {
  switch (m) {
    case KQuantMix::kQ4_K_M:
      return GgmlType::kQ4_K;
    case KQuantMix::kQ5_K_M:
      return GgmlType::kQ5_K;
    case KQuantMix::kQ6_K:
      return GgmlType::kQ6_K;
    case KQuantMix::kQ8_0:
      return GgmlType::kQ8_0;
  }
  return GgmlType::kQ8_0;
}

KQuantMixPlanner::KQuantMixPlanner(KQuantMix mix, KQuantModelInfo info)
    : mix_(mix), info_(std::move(info)) {}

GgmlType KQuantMixPlanner::type_for(const std::string& name, const std::vector<int64_t>& dims) {
  // llama_model_quantize_impl's `quantize` test: names ending in "weight", 2-D or 3-D, not a
  // norm, not the MoE router.
  if (dims.size() < 2 || !ends_with(name, "weight") || contains(name, "_norm.weight") ||
      contains(name, "ffn_gate_inp.weight"))
    return GgmlType::kF32;
  return rule(name, dims[0], kquant_mix_default_type(mix_));
}

// llama_tensor_get_type, the branches that the four mixes reach.
GgmlType KQuantMixPlanner::rule(const std::string& name, int64_t cols, GgmlType t) {
  const bool q4m = mix_ == KQuantMix::kQ4_K_M, q5m = mix_ == KQuantMix::kQ5_K_M;
  const bool eight_experts = info_.n_expert == 8;
  // The LM head (or token_embd when tied to it): Q6_K unless the ftype is Q8_0; Q8_0 when its
  // rows do not divide into the type's blocks.
  if (name == "output.weight" || (!info_.has_output && name == "token_embd.weight")) {
    if (cols % ggml_block_elements(t) != 0) return GgmlType::kQ8_0;
    return t == GgmlType::kQ8_0 ? t : GgmlType::kQ6_K;
  }
  if (name == "token_embd.weight") return t;  // the default type for every k-quant ftype
  if (contains(name, "attn_v.weight")) {
    // Q4_K_M / Q5_K_M: Q6_K in the use_more_bits layers (counted over attn_v tensors).
    if ((q4m || q5m) && use_more_bits(i_attention_wv_, info_.n_attention_wv)) t = GgmlType::kQ6_K;
    // LLM_TYPE_70B (llama, 80 layers): 8 query heads share each attn_v, so it gets Q5_K at least.
    if (info_.arch == "llama" && info_.n_layer == 80 &&
        (t == GgmlType::kQ3_K || t == GgmlType::kQ4_K))
      t = GgmlType::kQ5_K;
    if (eight_experts) t = GgmlType::kQ8_0;  // Mixtral-style 8-expert models
    ++i_attention_wv_;
    return t;
  }
  if (contains(name, "attn_k.weight")) return eight_experts ? GgmlType::kQ8_0 : t;
  if (contains(name, "ffn_down")) {
    // Dense models count ffn_down tensors; MoE models read the layer from the name (their
    // expert, shared-expert and dense ffn_down tensors all match).
    const int64_t i_layer = info_.n_expert > 1 ? layer_of(name) : i_ffn_down_;
    if ((q4m || q5m) && use_more_bits(i_layer, info_.n_layer)) t = GgmlType::kQ6_K;
    ++i_ffn_down_;
    return t;
  }
  if (contains(name, "attn_output.weight")) return eight_experts && q4m ? GgmlType::kQ5_K : t;
  if (contains(name, "attn_qkv.weight")) {
    if (q4m) return GgmlType::kQ5_K;
    if (q5m) return GgmlType::kQ6_K;
  }
  return t;
}

}  // namespace fathom::quant
