#include "model/gguf_loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "kernels/ggml_blocks.h"
#include "model/gguf_export.h"

namespace fathom::model {
namespace {

using formats::GgufContents;
using formats::GgufTensor;
using formats::GgufValue;
using formats::GgufValueType;
using formats::TensorView;
using json = nlohmann::json;

// Reads `ARCH.key` values, collecting a problem for each missing or mistyped one.
class MetaReader {
 public:
  MetaReader(const GgufContents& g, std::string arch, std::vector<std::string>& problems)
      : g_(g), arch_(std::move(arch)), problems_(problems) {}

  std::optional<int64_t> integer(const std::string& key, bool required) {
    const GgufValue* v =
        typed(key, required, "an integer", [](const GgufValue& x) { return x.is_integer(); });
    return v ? std::optional<int64_t>(v->integer) : std::nullopt;
  }
  std::optional<double> number(const std::string& key) {
    const GgufValue* v =
        typed(key, false, "a number", [](const GgufValue& x) { return x.is_number(); });
    if (!v) return std::nullopt;
    return v->is_integer() ? static_cast<double>(v->integer) : v->real;
  }
  std::optional<bool> boolean(const std::string& key) {
    const GgufValue* v = typed(key, false, "a bool",
                               [](const GgufValue& x) { return x.type == GgufValueType::kBool; });
    return v ? std::optional<bool>(v->integer != 0) : std::nullopt;
  }
  std::optional<std::string> string(const std::string& key) {
    const GgufValue* v = typed(key, false, "a string",
                               [](const GgufValue& x) { return x.type == GgufValueType::kString; });
    return v ? std::optional<std::string>(v->text) : std::nullopt;
  }

 private:
  // ARCH.key when present and of the wanted kind; a problem otherwise (absent: if required).
  template <typename Pred>
  const GgufValue* typed(const std::string& key, bool required, const char* kind, Pred ok) {
    const std::string full = arch_ + "." + key;
    const GgufValue* v = g_.find(full);
    if (!v) {
      if (required) problems_.push_back("metadata '" + full + "' is missing");
      return nullptr;
    }
    if (!ok(*v)) {
      problems_.push_back("metadata '" + full + "' must be " + kind + ", got " +
                          formats::gguf_value_type_name(v->type));
      return nullptr;
    }
    return v;
  }

  const GgufContents& g_;
  std::string arch_;
  std::vector<std::string>& problems_;
};

template <typename T>
void set_if(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

// Element bytes of a float tensor kept as a plain dtype; blocks otherwise.
std::optional<DType> plain_dtype(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return DType::kF32;
    case GgmlType::kF16:
      return DType::kF16;
    case GgmlType::kBF16:
      return DType::kBF16;
    default:
      return std::nullopt;
  }
}

// Owns the mapped file and every buffer made at load (permuted rows, rebuilt kv_b_proj).
struct Owned {
  std::unique_ptr<formats::GgufFile> file;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> buffers;
  uint8_t* buffer(size_t n) {
    buffers.push_back(std::make_unique<std::vector<uint8_t>>(n));
    return buffers.back()->data();
  }
};

// GGUF name -> Hugging Face name, per layer (blk.N.<key>.weight/.bias -> model.layers.N.<value>).
struct NameRow {
  const char* gguf;
  const char* hf;
};
constexpr NameRow kLayerNames[] = {
    {"attn_norm", "input_layernorm"},
    {"ffn_norm", "post_attention_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"attn_q_a", "self_attn.q_a_proj"},
    {"attn_q_a_norm", "self_attn.q_a_layernorm"},
    {"attn_q_b", "self_attn.q_b_proj"},
    {"attn_kv_a_mqa", "self_attn.kv_a_proj_with_mqa"},
    {"attn_kv_a_norm", "self_attn.kv_a_layernorm"},
    {"attn_kv_b", "self_attn.kv_b_proj"},
    {"ffn_gate_inp", "mlp.gate"},
    {"ffn_gate_shexp", "mlp.shared_experts.gate_proj"},
    {"ffn_up_shexp", "mlp.shared_experts.up_proj"},
    {"ffn_down_shexp", "mlp.shared_experts.down_proj"},
};
constexpr NameRow kExpertNames[] = {
    {"ffn_gate_exps", "gate_proj"}, {"ffn_up_exps", "up_proj"}, {"ffn_down_exps", "down_proj"}};

struct SplitName {
  int64_t layer = -1;  ///< -1: not a blk.N tensor
  std::string key;     ///< "attn_q"
  std::string suffix;  ///< "weight" or "bias"
};

SplitName split_name(const std::string& name) {
  SplitName s;
  const auto last = name.rfind('.');
  if (last == std::string::npos) return s;
  s.suffix = name.substr(last + 1);
  std::string stem = name.substr(0, last);
  if (stem.rfind("blk.", 0) == 0) {
    const auto dot = stem.find('.', 4);
    if (dot == std::string::npos) return s;
    const std::string num = stem.substr(4, dot - 4);
    if (num.empty() || num.size() > 6 || !std::all_of(num.begin(), num.end(), ::isdigit)) return s;
    s.layer = std::stoll(num);
    stem = stem.substr(dot + 1);
  }
  s.key = stem;
  return s;
}

TensorView view_of(const GgufTensor& t, std::string hf_name, const std::string& file) {
  TensorView v;
  v.name = std::move(hf_name);
  v.shape.assign(t.dims.rbegin(), t.dims.rend());
  v.data = t.data;
  v.size_bytes = t.size_bytes;
  v.file = file;
  if (auto d = plain_dtype(t.type)) {
    v.dtype = *d;
  } else {
    v.dtype = DType::kU8;
    v.ggml_blocks = t.type;
  }
  return v;
}

// Plain float tensors must be aligned for their element type (alignment may be as small as 1).
void align_view(TensorView& v, Owned& owned) {
  if (v.ggml_blocks) return;
  const auto align = static_cast<uintptr_t>(dtype_size(v.dtype));
  if (reinterpret_cast<uintptr_t>(v.data) % align == 0) return;
  uint8_t* copy = owned.buffer(static_cast<size_t>(v.size_bytes));
  std::memcpy(copy, v.data, static_cast<size_t>(v.size_bytes));
  v.data = copy;
}

// llama.cpp permutes the rows of Q and K for its rotary layout: within each head of hd rows,
// Hugging Face row s * hd/2 + i is stored at 2i + s. Rows are whole blocks, so this moves bytes.
void unpermute_rows(TensorView& v, int64_t num_heads, Owned& owned) {
  const int64_t rows = v.shape.empty() ? 0 : v.shape[0];
  if (num_heads <= 0 || rows % num_heads != 0 || (rows / num_heads) % 2 != 0) return;
  const int64_t hd = rows / num_heads, row_bytes = v.size_bytes / rows;
  uint8_t* out = owned.buffer(static_cast<size_t>(v.size_bytes));
  for (int64_t h = 0; h < num_heads; ++h)
    for (int64_t s = 0; s < 2; ++s)
      for (int64_t i = 0; i < hd / 2; ++i)
        std::memcpy(out + (h * hd + s * (hd / 2) + i) * row_bytes,
                    v.data + (h * hd + 2 * i + s) * row_bytes, static_cast<size_t>(row_bytes));
  v.data = out;
}

// Rows of a GGUF tensor as floats ([rows, dims[0]]).
std::vector<float> dequantized(const GgufTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  kernels::ggml_dequantize(t.type, t.data, t.numel(), out.data());
  return out;
}

// kv_b_proj [nh * (nope + v), kv_lora] in F32 from attn_k_b (ne [nope, kv_lora, nh]: per head
// the transposed K half) and attn_v_b (ne [kv_lora, v, nh]).
std::optional<TensorView> rebuild_kv_b(const GgufTensor& kb, const GgufTensor& vb, int64_t nh,
                                       const std::string& name, const std::string& file,
                                       Owned& owned, std::vector<std::string>& problems) {
  if (kb.dims.size() != 3 || vb.dims.size() != 3 || kb.dims[2] != nh || vb.dims[2] != nh ||
      kb.dims[1] != vb.dims[0]) {
    problems.push_back(kb.name + " / " + vb.name + ": dims " + formats::shape_string(kb.dims) +
                       " and " + formats::shape_string(vb.dims) +
                       " do not split one kv_b_proj of " + std::to_string(nh) + " heads");
    return std::nullopt;
  }
  const int64_t nope = kb.dims[0], rank = kb.dims[1], vd = vb.dims[1];
  const std::vector<float> k = dequantized(kb), v = dequantized(vb);
  const int64_t rows = nh * (nope + vd);
  auto* out = reinterpret_cast<float*>(owned.buffer(static_cast<size_t>(rows * rank * 4)));
  for (int64_t h = 0; h < nh; ++h) {
    float* head = out + h * (nope + vd) * rank;
    for (int64_t i = 0; i < nope; ++i)
      for (int64_t c = 0; c < rank; ++c) head[i * rank + c] = k[(h * rank + c) * nope + i];
    std::memcpy(head + nope * rank, v.data() + h * vd * rank, static_cast<size_t>(vd * rank * 4));
  }
  TensorView t;
  t.name = name;
  t.dtype = DType::kF32;
  t.shape = {rows, rank};
  t.data = reinterpret_cast<const uint8_t*>(out);
  t.size_bytes = rows * rank * 4;
  t.file = file;
  return t;
}

// Llama 3 rope scaling from llama.cpp's rope_freqs.weight: factor = the largest divisor; the
// original context from a smoothly scaled frequency (assuming Llama 3.1's low/high frequency
// factors 1 and 4, which every Llama 3.x uses); accepted only if those parameters reproduce
// every stored divisor.
std::optional<json> llama3_scaling(const GgufTensor& t, double theta, int64_t dim) {
  if (t.type != GgmlType::kF32 || t.dims.size() != 1 || dim <= 0 || t.dims[0] != dim / 2)
    return std::nullopt;
  std::vector<float> f(static_cast<size_t>(t.dims[0]));
  std::memcpy(f.data(), t.data, f.size() * 4);
  const double factor = *std::max_element(f.begin(), f.end());
  constexpr double kLow = 1.0, kHigh = 4.0;
  double context = 8192.0;  // the usual value, when no frequency is in the smooth band
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] <= 1.0f + 1e-6f || f[i] >= factor * (1 - 1e-6)) continue;
    const double wavelen =
        2 * M_PI * std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(dim));
    const double smooth = (1.0 / f[i] - 1.0 / factor) / (1.0 - 1.0 / factor);
    context = std::round((smooth * (kHigh - kLow) + kLow) * wavelen);
    break;
  }
  const auto want = llama3_rope_factors(theta, dim, factor, kLow, kHigh, context);
  for (size_t i = 0; i < f.size(); ++i)
    if (std::fabs(want[i] - f[i]) > 1e-4 * want[i]) return std::nullopt;
  return json{{"rope_type", "llama3"},
              {"factor", factor},
              {"low_freq_factor", kLow},
              {"high_freq_factor", kHigh},
              {"original_max_position_embeddings", static_cast<int64_t>(context)}};
}

std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

}  // namespace

bool is_gguf_model(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) && formats::looks_like_gguf(path);
}

Result<json> gguf_config_json(const GgufContents& g, const std::string& source) {
  std::vector<std::string> problems;
  const GgufValue* arch_v = g.find("general.architecture");
  if (!arch_v || arch_v->type != GgufValueType::kString)
    return invalid_argument(source + ": metadata 'general.architecture' must be a string");
  const std::string arch = arch_v->text;
  if (arch != "llama" && arch != "qwen2" && arch != "deepseek2")
    return invalid_argument(source + ": general.architecture '" + arch +
                            "' is not supported (llama, qwen2, deepseek2)" +
                            (arch == "deepseek" ? "; 'deepseek' is DeepSeek-MoE v1 (MHA with "
                                                  "experts), which fathom does not implement"
                                                : ""));
  MetaReader m(g, arch, problems);
  json j;
  j["model_type"] = arch;
  const auto hidden = m.integer("embedding_length", true);
  const auto heads = m.integer("attention.head_count", true);
  set_if(j, "hidden_size", hidden);
  set_if(j, "num_hidden_layers", m.integer("block_count", true));
  set_if(j, "intermediate_size", m.integer("feed_forward_length", true));
  set_if(j, "num_attention_heads", heads);
  set_if(j, "rms_norm_eps", m.number("attention.layer_norm_rms_epsilon"));
  set_if(j, "max_position_embeddings", m.integer("context_length", false));
  set_if(j, "rope_theta", m.number("rope.freq_base"));

  // Vocabulary: the key, else the tokenizer's list, else the embedding's rows.
  std::optional<int64_t> vocab = m.integer("vocab_size", false);
  if (!vocab)
    if (const GgufValue* toks = g.find("tokenizer.ggml.tokens");
        toks && toks->type == GgufValueType::kArray)
      vocab = static_cast<int64_t>(toks->texts.size());
  if (!vocab)
    if (const GgufTensor* e = g.find_tensor("token_embd.weight"); e && e->dims.size() == 2)
      vocab = e->dims[1];
  if (!vocab)
    problems.push_back("vocabulary size: no '" + arch +
                       ".vocab_size', tokenizer.ggml.tokens or token_embd.weight");
  set_if(j, "vocab_size", vocab);
  j["tie_word_embeddings"] = g.find_tensor("output.weight") == nullptr;
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    const GgufValue* v = g.find(key);
    if (!v) continue;
    if (!v->is_integer()) {
      problems.push_back(std::string("metadata '") + key + "' must be an integer");
      continue;
    }
    j[std::strstr(key, "bos") ? "bos_token_id" : "eos_token_id"] = v->integer;
  }

  // Rope scaling.
  if (const GgufTensor* rf = g.find_tensor("rope_freqs.weight")) {
    const double theta = m.number("rope.freq_base").value_or(10000.0);
    const int64_t dim = m.integer("rope.dimension_count", false)
                            .value_or(hidden && heads && *heads > 0 ? *hidden / *heads : 0);
    if (auto rs = llama3_scaling(*rf, theta, dim)) {
      j["rope_scaling"] = *rs;
    } else {
      problems.push_back(
          "tensor rope_freqs.weight: the factors are not Llama 3 rope scaling "
          "with low_freq_factor 1 and high_freq_factor 4 for rope dimension " +
          std::to_string(dim) + " and base " + std::to_string(theta));
    }
  }
  if (const auto type = m.string("rope.scaling.type"); type && *type != "none") {
    json rs;
    rs["type"] = *type;
    set_if(rs, "factor", m.number("rope.scaling.factor"));
    set_if(rs, "original_max_position_embeddings",
           m.integer("rope.scaling.original_context_length", false));
    if (*type == "yarn") {
      set_if(rs, "beta_fast", m.number("rope.scaling.yarn_beta_fast"));
      set_if(rs, "beta_slow", m.number("rope.scaling.yarn_beta_slow"));
      // convert_hf_to_gguf.py stores 0.1 * mscale_all_dim; llama.cpp takes mscale equal to it.
      if (const auto log_mul = m.number("rope.scaling.yarn_log_multiplier")) {
        rs["mscale"] = *log_mul / 0.1;
        rs["mscale_all_dim"] = *log_mul / 0.1;
      }
    }
    j["rope_scaling"] = rs;
  }

  if (arch == "llama" || arch == "qwen2") {
    j["architectures"] = {arch == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"};
    set_if(j, "num_key_value_heads", m.integer("attention.head_count_kv", false));
    if (auto kl = m.integer("attention.key_length", false)) j["head_dim"] = *kl;
    if (arch == "llama") j["attention_bias"] = g.find_tensor("blk.0.attn_q.bias") != nullptr;
  } else {  // deepseek2
    const auto rope_dim = m.integer("rope.dimension_count", true);
    const auto key_mla = m.integer("attention.key_length_mla", false);
    const auto value_mla = m.integer("attention.value_length_mla", false);
    const auto key_len = key_mla ? key_mla : m.integer("attention.key_length", true);
    const auto value_len = value_mla ? value_mla : m.integer("attention.value_length", true);
    const auto q_lora = m.integer("attention.q_lora_rank", false);
    j["q_lora_rank"] = q_lora && *q_lora > 0 ? json(*q_lora) : json(nullptr);
    set_if(j, "kv_lora_rank", m.integer("attention.kv_lora_rank", true));
    set_if(j, "qk_rope_head_dim", rope_dim);
    if (key_len && rope_dim) j["qk_nope_head_dim"] = *key_len - *rope_dim;
    set_if(j, "v_head_dim", value_len);
    set_if(j, "num_key_value_heads", heads);  // MLA: the HF config's count equals the heads'
    set_if(j, "n_routed_experts", m.integer("expert_count", false));
    set_if(j, "num_experts_per_tok", m.integer("expert_used_count", false));
    set_if(j, "n_shared_experts", m.integer("expert_shared_count", false));
    set_if(j, "moe_intermediate_size", m.integer("expert_feed_forward_length", false));
    set_if(j, "first_k_dense_replace", m.integer("leading_dense_block_count", false));
    set_if(j, "routed_scaling_factor", m.number("expert_weights_scale"));
    set_if(j, "norm_topk_prob", m.boolean("expert_weights_norm"));
    const auto groups = m.integer("expert_group_count", false);
    set_if(j, "n_group", groups);
    set_if(j, "topk_group", m.integer("expert_group_used_count", false));
    set_if(j, "num_nextn_predict_layers", m.integer("nextn_predict_layers", false));
    const auto gating = m.integer("expert_gating_func", false);  // 1 softmax, 2 sigmoid
    if (gating && *gating != 1 && *gating != 2)
      problems.push_back("metadata '" + arch + ".expert_gating_func' " + std::to_string(*gating) +
                         " is not supported (1 softmax, 2 sigmoid)");
    const bool sigmoid = gating && *gating == 2;
    j["scoring_func"] = sigmoid ? "sigmoid" : "softmax";
    j["topk_method"] =
        sigmoid ? "noaux_tc" : (groups && *groups > 1 ? "group_limited_greedy" : "greedy");
    j["architectures"] = {sigmoid ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  }
  if (!problems.empty()) {
    std::string msg = source + ": invalid GGUF metadata:";
    for (const auto& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  return j;
}

Result<GgufModel> open_gguf_model(const std::string& path) {
  auto owned = std::make_shared<Owned>();
  FATHOM_ASSIGN_OR_RETURN(formats::GgufFile file, formats::GgufFile::open(path));
  owned->file = std::make_unique<formats::GgufFile>(std::move(file));
  const GgufContents& g = owned->file->contents();
  FATHOM_ASSIGN_OR_RETURN(json cj, gguf_config_json(g, path));
  GgufModel out;
  FATHOM_ASSIGN_OR_RETURN(out.config, parse_model_config(cj, path));
  const ModelConfig& cfg = out.config;
  const bool permuted = cfg.architecture == "LlamaForCausalLM";

  std::vector<std::string> problems;
  std::vector<TensorView> views;
  for (const GgufTensor& t : g.tensors) {
    const SplitName s = split_name(t.name);
    if (t.name == "rope_freqs.weight") continue;  // read into the config
    if (s.layer < 0) {
      const std::string hf = t.name == "token_embd.weight"    ? "model.embed_tokens.weight"
                             : t.name == "output_norm.weight" ? "model.norm.weight"
                             : t.name == "output.weight"      ? "lm_head.weight"
                                                              : t.name;
      views.push_back(view_of(t, hf, path));
      continue;
    }
    const std::string p = layer_prefix(s.layer);
    if (s.key == "attn_k_b" || s.key == "attn_v_b") {
      if (s.key == "attn_v_b") continue;  // rebuilt with attn_k_b
      const GgufTensor* vb = g.find_tensor("blk." + std::to_string(s.layer) + ".attn_v_b.weight");
      if (!vb) {
        problems.push_back(t.name + ": present without its attn_v_b");
        continue;
      }
      if (auto kv = rebuild_kv_b(t, *vb, cfg.num_heads, p + "self_attn.kv_b_proj.weight", path,
                                 *owned, problems))
        views.push_back(std::move(*kv));
      continue;
    }
    if (s.key == "exp_probs_b") {
      views.push_back(view_of(t, p + "mlp.gate.e_score_correction_bias", path));
      continue;
    }
    bool done = false;
    for (const NameRow& e : kExpertNames) {
      if (s.key != e.gguf) continue;
      done = true;
      if (t.dims.size() != 3) {
        problems.push_back(t.name + ": dims " + formats::shape_string(t.dims) +
                           " expected 3 (one matrix per expert)");
        break;
      }
      const int64_t per_expert = t.size_bytes / t.dims[2];
      for (int64_t x = 0; x < t.dims[2]; ++x) {
        TensorView v =
            view_of(t, p + "mlp.experts." + std::to_string(x) + "." + e.hf + "." + s.suffix, path);
        v.shape = {t.dims[1], t.dims[0]};
        v.data = t.data + x * per_expert;
        v.size_bytes = per_expert;
        views.push_back(std::move(v));
      }
    }
    if (done) continue;
    std::string hf = t.name;
    for (const NameRow& r : kLayerNames)
      if (s.key == r.gguf) hf = p + r.hf + "." + s.suffix;
    TensorView v = view_of(t, hf, path);
    if (permuted && (s.key == "attn_q" || s.key == "attn_k"))
      unpermute_rows(v, s.key == "attn_q" ? cfg.num_heads : cfg.num_kv_heads, *owned);
    views.push_back(std::move(v));
  }
  if (!problems.empty()) {
    std::string msg = path + ": cannot map GGUF tensors:";
    for (const auto& p : problems) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  for (TensorView& v : views) align_view(v, *owned);
  FATHOM_ASSIGN_OR_RETURN(
      formats::Checkpoint ck,
      formats::Checkpoint::from_views(path, std::move(views), owned, {&owned->file->mapped()}));
  out.checkpoint = std::make_shared<const formats::Checkpoint>(std::move(ck));
  return out;
}

}  // namespace fathom::model
