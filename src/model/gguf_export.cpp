#include "model/gguf_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "formats/checkpoint.h"
#include "formats/gguf_writer.h"
#include "kernels/ggml_blocks.h"
#include "kernels/ggml_kquants.h"
#include "model/config.h"

namespace fathom::model {
namespace {

using formats::GgufTensorData;
using formats::GgufValue;
using Meta = std::vector<std::pair<std::string, GgufValue>>;

Result<std::vector<float>> floats_of(const formats::TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype) {
      case DType::kF32:
        std::memcpy(&out[i], t.data + 4 * i, 4);
        break;
      case DType::kBF16:
        out[i] = bf16_to_f32(t.as<uint16_t>()[i]);
        break;
      case DType::kF16:
        out[i] = f16_to_f32(t.as<uint16_t>()[i]);
        break;
      default:
        return invalid_argument(t.name + ": dtype " + dtype_name(t.dtype) +
                                " cannot be exported to GGUF (float checkpoints only)");
    }
  }
  return out;
}

class Exporter {
 public:
  Exporter(const formats::Checkpoint& ck, const GgufExportOptions& opts) : ck_(ck), opts_(opts) {}

  // rows x cols floats as one GGUF tensor; `matrix` false keeps F32 (norms, biases, routers'
  // bias). dims innermost first.
  void add(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& x,
           bool matrix) {
    GgmlType t = GgmlType::kF32;
    if (matrix)
      t = ggml_fallback_type(opts_.type_for ? opts_.type_for(name, dims) : opts_.type, dims[0]);
    GgufTensorData d{name, t, std::move(dims), {}};
    const auto n = static_cast<int64_t>(x.size());
    const int64_t cols = d.dims[0], rows = n / cols;
    d.bytes.resize(static_cast<size_t>(rows * ggml_row_bytes(t, cols)));
    if (!opts_.kquant_search || !ggml_is_quantized(t)) {
      kernels::ggml_quantize(t, x.data(), n, d.bytes.data());
    } else {
      const std::vector<float>* imp = importance(name, d.dims);
      // One matrix at a time: a 3-D tensor's matrices each have their own importance row.
      const int64_t mats = d.dims.size() == 3 ? d.dims[2] : 1, mat_rows = rows / mats;
      for (int64_t e = 0; e < mats; ++e)
        kernels::ggml_quantize_rows(t, x.data() + e * mat_rows * cols, mat_rows, cols,
                                    imp ? imp->data() + e * cols : nullptr,
                                    d.bytes.data() + e * mat_rows * ggml_row_bytes(t, cols));
    }
    ++summary_[t];
    tensors_.push_back(std::move(d));
  }

  // A Hugging Face tensor as floats ([rows, cols] row-major), or a problem noted.
  std::vector<float> read(const std::string& name, std::vector<int64_t>* shape = nullptr) {
    const formats::TensorView* t = ck_.find(name);
    if (!t) {
      problems_.push_back(name + ": missing");
      return {};
    }
    auto f = floats_of(*t);
    if (!f.ok()) {
      problems_.push_back(f.status().message());
      return {};
    }
    if (shape) *shape = t->shape;
    return std::move(*f);
  }

  // HF tensor `hf` written as GGUF `gguf` (2-D weights quantized, 1-D kept F32).
  void copy(const std::string& hf, const std::string& gguf) {
    std::vector<int64_t> shape;
    const std::vector<float> x = read(hf, &shape);
    if (x.empty()) return;
    add(gguf, {shape.rbegin(), shape.rend()}, x, shape.size() == 2);
  }

  bool has(const std::string& hf) const { return ck_.find(hf) != nullptr; }
  // The importance of `name`, or nullptr; a size other than cols x matrices is a problem.
  const std::vector<float>* importance(const std::string& name, const std::vector<int64_t>& dims) {
    if (!opts_.importance) return nullptr;
    auto it = opts_.importance->find(name);
    if (it == opts_.importance->end()) return nullptr;
    const int64_t want = dims[0] * (dims.size() == 3 ? dims[2] : 1);
    if (static_cast<int64_t>(it->second.size()) == want) return &it->second;
    problems_.push_back("imatrix entry " + name + ": has " + std::to_string(it->second.size()) +
                        " values, the tensor needs " + std::to_string(want));
    return nullptr;
  }
  std::vector<std::string>& problems() { return problems_; }
  std::vector<GgufTensorData>& tensors() { return tensors_; }
  const GgufExportSummary& summary() const { return summary_; }

 private:
  const formats::Checkpoint& ck_;
  const GgufExportOptions& opts_;
  std::vector<GgufTensorData> tensors_;
  std::vector<std::string> problems_;
  GgufExportSummary summary_;
};

// convert_hf_to_gguf.py's LlamaModel.permute: per head, row s * hd/2 + i goes to 2i + s.
std::vector<float> permute_rows(const std::vector<float>& x, int64_t heads, int64_t cols) {
  std::vector<float> out(x.size());
  const int64_t rows = static_cast<int64_t>(x.size()) / cols, hd = rows / heads;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t s = 0; s < 2; ++s)
      for (int64_t i = 0; i < hd / 2; ++i)
        std::memcpy(&out[(h * hd + 2 * i + s) * cols], &x[(h * hd + s * (hd / 2) + i) * cols],
                    static_cast<size_t>(cols) * 4);
  return out;
}

void add_u32(Meta& m, const std::string& k, int64_t v) {
  m.emplace_back(k, GgufValue::u32(static_cast<uint32_t>(v)));
}
void add_f32(Meta& m, const std::string& k, double v) {
  m.emplace_back(k, GgufValue::f32(static_cast<float>(v)));
}

Meta metadata(const ModelConfig& c, const std::string& arch) {
  Meta m;
  m.emplace_back("general.architecture", GgufValue::string(arch));
  const std::string a = arch + ".";
  add_u32(m, a + "context_length", c.max_position_embeddings);
  add_u32(m, a + "embedding_length", c.hidden_size);
  add_u32(m, a + "block_count", c.num_layers);
  add_u32(m, a + "feed_forward_length", c.intermediate_size);
  add_u32(m, a + "attention.head_count", c.num_heads);
  add_f32(m, a + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  add_f32(m, a + "rope.freq_base", c.rope.theta);
  add_u32(m, a + "vocab_size", c.vocab_size);
  if (c.rope.type == RopeType::kLinear || c.rope.type == RopeType::kYarn) {
    m.emplace_back(a + "rope.scaling.type",
                   GgufValue::string(c.rope.type == RopeType::kYarn ? "yarn" : "linear"));
    add_f32(m, a + "rope.scaling.factor", c.rope.factor);
    if (c.rope.original_max_position_embeddings > 0)
      add_u32(m, a + "rope.scaling.original_context_length",
              c.rope.original_max_position_embeddings);
    if (c.rope.type == RopeType::kYarn) {
      add_f32(m, a + "rope.scaling.yarn_log_multiplier", 0.1 * c.rope.mscale_all_dim);
      add_f32(m, a + "rope.scaling.yarn_beta_fast", c.rope.beta_fast);
      add_f32(m, a + "rope.scaling.yarn_beta_slow", c.rope.beta_slow);
    }
  }
  if (c.family == ArchFamily::kDense) {
    add_u32(m, a + "attention.head_count_kv", c.num_kv_heads);
    add_u32(m, a + "attention.key_length", c.head_dim);
    add_u32(m, a + "attention.value_length", c.head_dim);
    add_u32(m, a + "rope.dimension_count", c.head_dim);
  } else {
    const MlaConfig& l = c.mla;
    const MoeConfig& e = c.moe;
    add_u32(m, a + "attention.head_count_kv", 1);  // MLA runs as MQA over the latent
    add_u32(m, a + "attention.q_lora_rank", l.q_lora_rank);
    add_u32(m, a + "attention.kv_lora_rank", l.kv_lora_rank);
    add_u32(m, a + "attention.key_length", l.kv_lora_rank + l.qk_rope_head_dim);
    add_u32(m, a + "attention.value_length", l.kv_lora_rank);
    add_u32(m, a + "attention.key_length_mla", l.qk_nope_head_dim + l.qk_rope_head_dim);
    add_u32(m, a + "attention.value_length_mla", l.v_head_dim);
    add_u32(m, a + "rope.dimension_count", l.qk_rope_head_dim);
    add_u32(m, a + "leading_dense_block_count", e.first_k_dense_replace);
    add_u32(m, a + "expert_feed_forward_length", e.moe_intermediate_size);
    add_u32(m, a + "expert_count", e.num_routed_experts);
    add_u32(m, a + "expert_used_count", e.num_experts_per_tok);
    add_u32(m, a + "expert_shared_count", e.num_shared_experts);
    add_f32(m, a + "expert_weights_scale", e.routed_scaling_factor);
    m.emplace_back(a + "expert_weights_norm", GgufValue::boolean(e.norm_topk_prob));
    add_u32(m, a + "expert_gating_func", e.scoring_func == ScoringFunc::kSigmoid ? 2 : 1);
    add_u32(m, a + "expert_group_count", e.n_group);
    add_u32(m, a + "expert_group_used_count", e.topk_group);
  }
  if (c.bos_token_id) add_u32(m, "tokenizer.ggml.bos_token_id", *c.bos_token_id);
  if (!c.eos_token_ids.empty()) add_u32(m, "tokenizer.ggml.eos_token_id", c.eos_token_ids[0]);
  return m;
}

void export_dense_layer(Exporter& x, const ModelConfig& c, const std::string& p,
                        const std::string& b, bool permute) {
  x.copy(p + "input_layernorm.weight", b + "attn_norm.weight");
  x.copy(p + "post_attention_layernorm.weight", b + "ffn_norm.weight");
  for (const auto& [proj, key, heads] :
       {std::tuple{"q_proj", "attn_q", c.num_heads}, std::tuple{"k_proj", "attn_k", c.num_kv_heads},
        std::tuple{"v_proj", "attn_v", int64_t{0}}}) {
    for (const char* suffix : {"weight", "bias"}) {
      const std::string hf = p + "self_attn." + proj + "." + suffix;
      if (!x.has(hf)) continue;
      std::vector<int64_t> shape;
      std::vector<float> w = x.read(hf, &shape);
      if (w.empty()) continue;
      const int64_t cols = shape.size() == 2 ? shape[1] : 1;
      if (permute && heads > 0) w = permute_rows(w, heads, cols);
      x.add(b + key + "." + suffix, {shape.rbegin(), shape.rend()}, w, shape.size() == 2);
    }
  }
  x.copy(p + "self_attn.o_proj.weight", b + "attn_output.weight");
}

void export_mlp(Exporter& x, const std::string& hf, const std::string& gguf,
                const std::string& tag) {
  for (const char* proj : {"gate", "up", "down"})
    x.copy(hf + proj + "_proj.weight", gguf + "ffn_" + proj + tag + ".weight");
}

void export_deepseek_layer(Exporter& x, const ModelConfig& c, int64_t layer, const std::string& p,
                           const std::string& b) {
  const MlaConfig& l = c.mla;
  x.copy(p + "input_layernorm.weight", b + "attn_norm.weight");
  x.copy(p + "post_attention_layernorm.weight", b + "ffn_norm.weight");
  if (l.q_lora_rank > 0) {
    x.copy(p + "self_attn.q_a_proj.weight", b + "attn_q_a.weight");
    x.copy(p + "self_attn.q_a_layernorm.weight", b + "attn_q_a_norm.weight");
    x.copy(p + "self_attn.q_b_proj.weight", b + "attn_q_b.weight");
  } else {
    x.copy(p + "self_attn.q_proj.weight", b + "attn_q.weight");
  }
  x.copy(p + "self_attn.kv_a_proj_with_mqa.weight", b + "attn_kv_a_mqa.weight");
  x.copy(p + "self_attn.kv_a_layernorm.weight", b + "attn_kv_a_norm.weight");
  x.copy(p + "self_attn.o_proj.weight", b + "attn_output.weight");
  // kv_b_proj [nh * (nope + v), rank] -> attn_k_b [nh][rank][nope] (transposed K half), attn_v_b
  // [nh][v][rank], as convert_hf_to_gguf.py splits it for MLA absorption.
  const std::vector<float> kv = x.read(p + "self_attn.kv_b_proj.weight");
  const int64_t nh = c.num_heads, nope = l.qk_nope_head_dim, vd = l.v_head_dim,
                rank = l.kv_lora_rank;
  if (static_cast<int64_t>(kv.size()) == nh * (nope + vd) * rank) {
    std::vector<float> kb(static_cast<size_t>(nh * rank * nope)),
        vb(static_cast<size_t>(nh * vd * rank));
    for (int64_t h = 0; h < nh; ++h) {
      const float* head = kv.data() + h * (nope + vd) * rank;
      for (int64_t i = 0; i < nope; ++i)
        for (int64_t r = 0; r < rank; ++r) kb[(h * rank + r) * nope + i] = head[i * rank + r];
      std::memcpy(&vb[h * vd * rank], head + nope * rank, static_cast<size_t>(vd * rank) * 4);
    }
    x.add(b + "attn_k_b.weight", {nope, rank, nh}, kb, true);
    x.add(b + "attn_v_b.weight", {rank, vd, nh}, vb, true);
  } else if (!kv.empty()) {
    x.problems().push_back(p + "self_attn.kv_b_proj.weight: has " + std::to_string(kv.size()) +
                           " values, expected " + std::to_string(nh * (nope + vd) * rank));
  }
  if (!c.is_moe_layer(layer)) return export_mlp(x, p + "mlp.", b, "");
  const MoeConfig& e = c.moe;
  x.copy(p + "mlp.gate.weight", b + "ffn_gate_inp.weight");
  if (x.has(p + "mlp.gate.e_score_correction_bias"))
    x.copy(p + "mlp.gate.e_score_correction_bias", b + "exp_probs_b.bias");
  for (const char* proj : {"gate", "up", "down"}) {
    std::vector<float> stacked;
    std::vector<int64_t> shape;
    for (int64_t k = 0; k < e.num_routed_experts; ++k) {
      const std::vector<float> w =
          x.read(p + "mlp.experts." + std::to_string(k) + "." + proj + "_proj.weight", &shape);
      stacked.insert(stacked.end(), w.begin(), w.end());
    }
    if (shape.size() == 2 &&
        static_cast<int64_t>(stacked.size()) == e.num_routed_experts * shape[0] * shape[1])
      x.add(b + "ffn_" + proj + "_exps.weight", {shape[1], shape[0], e.num_routed_experts}, stacked,
            true);
  }
  if (e.num_shared_experts > 0) export_mlp(x, p + "mlp.shared_experts.", b, "_shexp");
}

}  // namespace

std::vector<double> llama3_rope_factors(double theta, int64_t dim, double factor,
                                        double low_freq_factor, double high_freq_factor,
                                        double original_context) {
  std::vector<double> out;
  const double low_wavelen = original_context / low_freq_factor;
  const double high_wavelen = original_context / high_freq_factor;
  for (int64_t i = 0; i < dim; i += 2) {
    const double freq = 1.0 / std::pow(theta, static_cast<double>(i) / static_cast<double>(dim));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0);
    } else if (wavelen > low_wavelen) {
      out.push_back(factor);
    } else {
      const double smooth =
          (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      out.push_back(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
  return out;
}

GgmlType ggml_fallback_type(GgmlType want, int64_t cols) {
  GgmlType t = want;
  if (cols % ggml_block_elements(t) != 0) {
    switch (want) {
      case GgmlType::kQ2_K:
      case GgmlType::kQ3_K:
      case GgmlType::kIQ4_XS:
        t = GgmlType::kIQ4_NL;
        break;
      case GgmlType::kQ4_K:
        t = GgmlType::kQ5_0;
        break;
      case GgmlType::kQ5_K:
        t = GgmlType::kQ5_1;
        break;
      case GgmlType::kQ6_K:
        t = GgmlType::kQ8_0;
        break;
      default:
        break;
    }
  }
  return cols % ggml_block_elements(t) == 0 ? t : GgmlType::kF16;
}

Result<GgufExportSummary> export_gguf(const std::string& model_dir, const std::string& out_path,
                                      const GgufExportOptions& opts) {
  FATHOM_ASSIGN_OR_RETURN(ModelConfig c, load_model_config(model_dir));
  if (c.quant.method != QuantMethod::kNone)
    return invalid_argument(model_dir +
                            ": quantized checkpoints cannot be exported to GGUF "
                            "(float weights only)");
  FATHOM_ASSIGN_OR_RETURN(formats::Checkpoint ck, formats::Checkpoint::open(model_dir));
  const std::string arch = c.architecture == "LlamaForCausalLM"   ? "llama"
                           : c.architecture == "Qwen2ForCausalLM" ? "qwen2"
                                                                  : "deepseek2";
  Exporter x(ck, opts);
  x.copy("model.embed_tokens.weight", "token_embd.weight");
  x.copy("model.norm.weight", "output_norm.weight");
  if (!c.tie_word_embeddings) x.copy("lm_head.weight", "output.weight");
  if (c.rope.type == RopeType::kLlama3) {  // stored as frequency factors, as llama.cpp does
    const auto f = llama3_rope_factors(
        c.rope.theta, c.head_dim, c.rope.factor, c.rope.low_freq_factor, c.rope.high_freq_factor,
        static_cast<double>(c.rope.original_max_position_embeddings));
    x.add("rope_freqs.weight", {static_cast<int64_t>(f.size())}, {f.begin(), f.end()}, false);
  }
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".",
                      b = "blk." + std::to_string(l) + ".";
    if (c.family == ArchFamily::kDense) {
      export_dense_layer(x, c, p, b, arch == "llama");
      export_mlp(x, p + "mlp.", b, "");
    } else {
      export_deepseek_layer(x, c, l, p, b);
    }
  }
  if (!x.problems().empty()) {
    std::string msg = model_dir + ": cannot export to GGUF:";
    for (const auto& p : x.problems()) msg += "\n  " + p;
    return invalid_argument(msg);
  }
  Meta meta = metadata(c, arch);
  for (const auto& [key, value] : opts.extra_metadata) {
    auto it =
        std::find_if(meta.begin(), meta.end(), [&](const auto& kv) { return kv.first == key; });
    if (it != meta.end())
      it->second = value;
    else
      meta.emplace_back(key, value);
  }
  FATHOM_RETURN_IF_ERROR(formats::write_gguf(out_path, meta, x.tensors()));
  return x.summary();
}

}  // namespace fathom::model
