// The MLA cache holds, per token, the normalised latent c (kv_lora_rank) and the rotated
// shared key k_rope (qk_rope_head_dim): 576 floats for V3 instead of 2 x 128 x 192 expanded.
// Attention runs in absorbed form: kv_b_proj's K half is folded into the query and its V half
// applied after attention, so cached latents are never expanded.
#include "model/arch/deepseek.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "model/arch/moe_router.h"
#include "model/rope.h"
#include "model/weight_loader.h"

namespace fathom::model {
namespace {

using kernels::LinearWeight;

struct MlaWeights {
  LinearWeight q_proj;              // no q compression: [heads * qk_head_dim, d]
  LinearWeight q_a_proj, q_b_proj;  // q compression: [q_lora, d], [heads * qk_head_dim, q_lora]
  std::vector<float> q_a_norm;      // [q_lora]
  LinearWeight kv_a_proj;           // [kv_lora + rope, d]
  std::vector<float> kv_a_norm;     // [kv_lora]
  // kv_b_proj [heads * (nope + v), kv_lora] split per head for the absorbed form: W_uk
  // transposed, [kv_lora, nope] (folds a query into the latent space), and W_uv, [v, kv_lora].
  std::vector<LinearWeight> uk_t, uv;
  LinearWeight o_proj;              // [d, heads * v]
};

struct MoeWeights {
  LinearWeight gate;                    // router [num_experts, d]
  std::vector<float> correction_bias;   // [num_experts] (noaux_tc) or empty
  std::vector<MlpWeights> experts;
  MlpWeights shared;                    // absent when num_shared_experts == 0
};

struct DeepseekLayer {
  std::vector<float> attn_norm, ffn_norm;
  MlaWeights attn;
  bool is_moe = false;
  MlpWeights dense;
  MoeWeights moe;
};

// DeepSeek-V3's multi-token-prediction module (model.layers.{num_layers}.*): it predicts
// t(i+2) from the hidden state of position i and the embedding of t(i+1).
struct MtpWeights {
  std::vector<float> enorm, hnorm;  // [d] each: norms of the embedding and the hidden state
  LinearWeight eh_proj;             // [d, 2d] over [enorm(emb); hnorm(h)]
  DeepseekLayer block;              // one decoder layer with its own one-layer cache
  std::vector<float> head_norm;     // [d] shared_head.norm
  LinearWeight embed, head;         // the layer's own copies, else the main model's
};

class DeepseekModel final : public Model {
 public:
  DeepseekModel(ModelConfig cfg, LoadOptions opts) : Model(std::move(cfg), opts) {}

  Status load(const formats::Checkpoint& ck);

  runtime::KvLayout kv_layout() const override {
    return {static_cast<int32_t>(cfg_.num_layers),
            static_cast<int32_t>(cfg_.mla.kv_lora_rank + cfg_.mla.qk_rope_head_dim)};
  }
  bool has_mtp() const override { return mtp_.has_value(); }
  runtime::KvLayout mtp_kv_layout() const override { return {1, kv_layout().entry_dim}; }

  // total: bytes in memory; per_token: bytes one decoded token reads (one_row_bytes: a packed
  // copy where the one-row kernels read one), with num_experts_per_tok of the routed experts.
  WeightBytes weight_bytes() const override {
    auto layer_bytes = [this](const DeepseekLayer& L, int64_t (LinearWeight::*bytes)() const,
                              bool every_expert) {
      int64_t sum = 0;
      each_layer_linear(L, [&](const LinearWeight& w) { sum += (w.*bytes)(); });
      if (!L.is_moe) return sum;
      sum += (L.moe.gate.*bytes)();
      int64_t experts = 0;
      for (const MlpWeights& x : L.moe.experts)
        each_mlp_linear(x, [&](const LinearWeight& w) { experts += (w.*bytes)(); });
      // Routed experts are equal in size: a token reads num_experts_per_tok of them.
      if (!every_expert && !L.moe.experts.empty())
        experts =
            experts / static_cast<int64_t>(L.moe.experts.size()) * cfg_.moe.num_experts_per_tok;
      return sum + experts;
    };
    WeightBytes b{lm_head_.size_bytes(), lm_head_.one_row_bytes()};
    for (const DeepseekLayer& L : layers_) {
      b.total += layer_bytes(L, &LinearWeight::size_bytes, true);
      b.per_token += layer_bytes(L, &LinearWeight::one_row_bytes, false);
    }
    return b;
  }

  void for_each_linear(const std::function<void(LinearWeight&)>& fn) override {
    fn(lm_head_);
    for (DeepseekLayer& L : layers_) {
      each_layer_linear(L, fn);
      for (MlpWeights& x : L.moe.experts) each_mlp_linear(x, fn);
    }
  }

 private:
  // A layer's attention projections and its dense MLP or shared experts (not the router or the
  // routed experts), const or not.
  template <class Layer, class Fn>
  static void each_layer_linear(Layer& L, Fn&& fn) {
    auto& a = L.attn;
    for (auto* w : {&a.q_proj, &a.q_a_proj, &a.q_b_proj, &a.kv_a_proj, &a.o_proj}) fn(*w);
    for (auto* heads : {&a.uk_t, &a.uv})
      for (auto& w : *heads) fn(w);
    each_mlp_linear(L.is_moe ? L.moe.shared : L.dense, fn);
  }

  // An MLP's gate, up and down projections, const or not.
  template <class Mlp, class Fn>
  static void each_mlp_linear(Mlp& m, Fn&& fn) {
    for (auto* w : {&m.gate, &m.up, &m.down}) fn(*w);
  }

  void forward_validated(const ForwardBatch& b, runtime::KvStorage& kv, float* logits) override;
  void mtp_forward_validated(const ForwardBatch& b, const float* prev_hidden, runtime::KvStorage& kv,
                             float* logits, float* hidden_out) override;
  DeepseekLayer load_layer(WeightLoader& w, int64_t layer) const;
  Status load_mtp(const formats::Checkpoint& ck, WeightLoader& w);
  /// x += attention(norm(x)); x += ffn(norm(x)) over cache layer `kv_layer`. x: [n, d]
  void run_layer(const DeepseekLayer& L, int32_t kv_layer, const ForwardBatch& b,
                 runtime::KvStorage& kv, float* x) const;
  void attention(const DeepseekLayer& L, int32_t layer, const ForwardBatch& b,
                 runtime::KvStorage& kv, const float* h, float* out) const;
  void moe(const MoeWeights& w, const float* h, int64_t n, float* out) const;
  void register_lora_targets();

  LinearWeight embed_, lm_head_;
  std::vector<float> final_norm_;
  std::vector<DeepseekLayer> layers_;
  std::optional<MtpWeights> mtp_;
  kernels::RopeTable rope_;
  float softmax_scale_ = 1.0f;
};

MlpWeights load_mlp(WeightLoader& w, const std::string& p, int64_t d, int64_t inter) {
  return {w.linear(p + "gate_proj", inter, d), w.linear(p + "up_proj", inter, d),
          w.linear(p + "down_proj", d, inter)};
}

DeepseekLayer DeepseekModel::load_layer(WeightLoader& w, int64_t l) const {
  const ModelConfig& c = cfg_;
  const MlaConfig& m = c.mla;
  const int64_t d = c.hidden_size, nh = c.num_heads;
  const int64_t qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim;
  const std::string p = "model.layers." + std::to_string(l) + ".";
  DeepseekLayer L;
  L.attn_norm = w.vector(p + "input_layernorm.weight", d);
  L.ffn_norm = w.vector(p + "post_attention_layernorm.weight", d);
  MlaWeights& a = L.attn;
  if (m.q_lora_rank > 0) {
    a.q_a_proj = w.linear(p + "self_attn.q_a_proj", m.q_lora_rank, d);
    a.q_a_norm = w.vector(p + "self_attn.q_a_layernorm.weight", m.q_lora_rank);
    a.q_b_proj = w.linear(p + "self_attn.q_b_proj", nh * qk_head, m.q_lora_rank);
  } else {
    a.q_proj = w.linear(p + "self_attn.q_proj", nh * qk_head, d);
  }
  a.kv_a_proj = w.linear(p + "self_attn.kv_a_proj_with_mqa", m.kv_lora_rank + m.qk_rope_head_dim, d);
  a.kv_a_norm = w.vector(p + "self_attn.kv_a_layernorm.weight", m.kv_lora_rank);
  const LinearWeight kv_b = w.linear(p + "self_attn.kv_b_proj",
                                     nh * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank);
  if (kv_b.out_features > 0) {  // absent or mis-shaped: reported by w.finish()
    for (int64_t head = 0; head < nh; ++head) {
      const int64_t r0 = head * (m.qk_nope_head_dim + m.v_head_dim);
      a.uk_t.push_back(slice_weight_rows(kv_b, r0, m.qk_nope_head_dim, /*transpose=*/true));
      a.uv.push_back(
          slice_weight_rows(kv_b, r0 + m.qk_nope_head_dim, m.v_head_dim, /*transpose=*/false));
    }
  }
  a.o_proj = w.linear(p + "self_attn.o_proj", d, nh * m.v_head_dim);

  L.is_moe = c.is_moe_layer(l);
  if (!L.is_moe) {
    L.dense = load_mlp(w, p + "mlp.", d, c.intermediate_size);
    return L;
  }
  const MoeConfig& e = c.moe;
  L.moe.gate = w.linear(p + "mlp.gate", e.num_routed_experts, d, /*requantize=*/false);
  if (e.topk_method == TopkMethod::kNoauxTc)
    L.moe.correction_bias = w.vector(p + "mlp.gate.e_score_correction_bias", e.num_routed_experts);
  for (int64_t x = 0; x < e.num_routed_experts; ++x)
    L.moe.experts.push_back(
        load_mlp(w, p + "mlp.experts." + std::to_string(x) + ".", d, e.moe_intermediate_size));
  if (e.num_shared_experts > 0)
    L.moe.shared =
        load_mlp(w, p + "mlp.shared_experts.", d, e.moe_intermediate_size * e.num_shared_experts);
  return L;
}

Status DeepseekModel::load_mtp(const formats::Checkpoint& ck, WeightLoader& w) {
  const ModelConfig& c = cfg_;
  if (c.num_nextn_predict_layers < 1)
    return invalid_argument(ck.dir() + "/config.json: --speculative mtp needs a multi-token-prediction "
                            "layer, but num_nextn_predict_layers is " +
                            std::to_string(c.num_nextn_predict_layers));
  const int64_t d = c.hidden_size;
  const std::string p = "model.layers." + std::to_string(c.num_layers) + ".";
  MtpWeights m;
  m.enorm = w.vector(p + "enorm.weight", d);
  m.hnorm = w.vector(p + "hnorm.weight", d);
  m.eh_proj = w.linear(p + "eh_proj", d, 2 * d);
  m.block = load_layer(w, c.num_layers);
  m.head_norm = w.vector(p + "shared_head.norm.weight", d);
  // V3 checkpoints repeat the embedding and the head inside the MTP layer; use the main
  // model's when a checkpoint leaves them out.
  m.embed = ck.find(p + "embed_tokens.weight") ? w.linear(p + "embed_tokens", c.vocab_size, d) : embed_;
  m.head = ck.find(p + "shared_head.head.weight") ? w.linear(p + "shared_head.head", c.vocab_size, d)
                                                  : lm_head_;
  mtp_ = std::move(m);
  return ok_status();
}

Status DeepseekModel::load(const formats::Checkpoint& ck) {
  const ModelConfig& c = cfg_;
  const MlaConfig& m = c.mla;
  WeightLoader w(ck, c, requantize_target(c, opts_.quantization), opts_.weight_cache_session.get());
  const int64_t d = c.hidden_size;
  embed_ = w.linear("model.embed_tokens", c.vocab_size, d);
  lm_head_ = c.tie_word_embeddings ? embed_ : w.linear("lm_head", c.vocab_size, d);
  final_norm_ = w.vector("model.norm.weight", d);
  layers_.reserve(static_cast<size_t>(c.num_layers));
  for (int64_t l = 0; l < c.num_layers; ++l) layers_.push_back(load_layer(w, l));
  if (opts_.load_mtp) FATHOM_RETURN_IF_ERROR(load_mtp(ck, w));
  rope_ = make_rope_table(c.rope, m.qk_rope_head_dim, c.max_position_embeddings,
                          kernels::RopeStyle::kInterleaved);
  softmax_scale_ = deepseek_softmax_scale(c);
  FATHOM_RETURN_IF_ERROR(w.finish());
  register_lora_targets();
  return ok_status();
}

void DeepseekModel::register_lora_targets() {
  auto add_mlp = [&](const std::string& p, const MlpWeights& m) {
    add_lora_target(p + "gate_proj", m.gate);
    add_lora_target(p + "up_proj", m.up);
    add_lora_target(p + "down_proj", m.down);
  };
  for (int64_t l = 0; l < cfg_.num_layers; ++l) {  // layers_ is final: addresses are stable
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const DeepseekLayer& L = layers_[l];
    const MlaWeights& a = L.attn;
    if (cfg_.mla.q_lora_rank > 0) {
      add_lora_target(p + "self_attn.q_a_proj", a.q_a_proj);
      add_lora_target(p + "self_attn.q_b_proj", a.q_b_proj);
    } else {
      add_lora_target(p + "self_attn.q_proj", a.q_proj);
    }
    add_lora_target(p + "self_attn.kv_a_proj_with_mqa", a.kv_a_proj);
    add_lora_target(p + "self_attn.o_proj", a.o_proj);
    if (!L.is_moe) {
      add_mlp(p + "mlp.", L.dense);
      continue;
    }
    for (size_t x = 0; x < L.moe.experts.size(); ++x)
      add_mlp(p + "mlp.experts." + std::to_string(x) + ".", L.moe.experts[x]);
    if (cfg_.moe.num_shared_experts > 0) add_mlp(p + "mlp.shared_experts.", L.moe.shared);
  }
}

void DeepseekModel::forward_validated(const ForwardBatch& b, runtime::KvStorage& kv, float* logits) {
  const ModelConfig& c = cfg_;
  const int64_t n = b.num_tokens(), d = c.hidden_size;
  const runtime::Buffer x = alloc({n, d});
  embed(embed_, b, x.f32());

  for (int64_t l = 0; l < c.num_layers; ++l)
    run_layer(layers_[l], static_cast<int32_t>(l), b, kv, x.f32());
  lm_head_logits(lm_head_, final_norm_, x.f32(), b, logits);
}

void DeepseekModel::run_layer(const DeepseekLayer& L, int32_t kv_layer, const ForwardBatch& b,
                              runtime::KvStorage& kv, float* x) const {
  const int64_t n = b.num_tokens(), d = cfg_.hidden_size;
  const runtime::Buffer h = alloc({n, d}), out = alloc({n, d});
  norm(x, L.attn_norm, n, h.f32());
  attention(L, kv_layer, b, kv, h.f32(), out.f32());
  add_residual(x, out.f32(), n * d);

  norm(x, L.ffn_norm, n, h.f32());
  if (L.is_moe) {
    moe(L.moe, h.f32(), n, out.f32());
  } else {
    mlp(L.dense, h.f32(), n, out.f32());
  }
  add_residual(x, out.f32(), n * d);
}

void DeepseekModel::mtp_forward_validated(const ForwardBatch& b, const float* prev_hidden,
                                          runtime::KvStorage& kv, float* logits,
                                          float* hidden_out) {
  const MtpWeights& m = *mtp_;
  runtime::Backend& be = backend();
  const int64_t n = b.num_tokens(), d = cfg_.hidden_size;
  const runtime::Buffer e = alloc({n, d}), hn = alloc({n, d}), prev = alloc({n, d});
  be.copy_from_host(prev, prev_hidden, prev.size_bytes());
  embed(m.embed, b, e.f32());
  norm(e.f32(), m.enorm, n, e.f32());
  norm(prev.f32(), m.hnorm, n, hn.f32());
  const runtime::Buffer cat = alloc({n, 2 * d});  // [enorm(emb) ; hnorm(h)]
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  be.gather_rows(e.f32(), d, rows, cat.f32(), 2 * d, 0);
  be.gather_rows(hn.f32(), d, rows, cat.f32(), 2 * d, d);
  const runtime::Buffer x = alloc({n, d});
  linear(m.eh_proj, cat.f32(), n, x.f32());
  run_layer(m.block, 0, b, kv, x.f32());
  const std::vector<int64_t> wanted(b.output_rows.begin(), b.output_rows.end());
  const runtime::Buffer hidden = alloc({static_cast<int64_t>(wanted.size()), d});
  be.gather_rows(x.f32(), d, wanted, hidden.f32(), d, 0);
  be.copy_to_host(hidden_out, hidden, hidden.size_bytes());
  lm_head_logits(m.head, m.head_norm, x.f32(), b, logits);
}

void DeepseekModel::attention(const DeepseekLayer& L, int32_t layer, const ForwardBatch& b,
                              runtime::KvStorage& kv, const float* h, float* out) const {
  const ModelConfig& c = cfg_;
  const MlaConfig& m = c.mla;
  const MlaWeights& a = L.attn;
  runtime::Backend& be = backend();
  const int64_t n = b.num_tokens(), nh = c.num_heads;
  const int64_t nope = m.qk_nope_head_dim, rd = m.qk_rope_head_dim, vd = m.v_head_dim;
  const int64_t lr = m.kv_lora_rank, qk_head = nope + rd;
  const float eps = static_cast<float>(c.rms_norm_eps);

  // Queries: [n, nh, nope + rope].
  const runtime::Buffer q = alloc({n, nh, qk_head});
  if (m.q_lora_rank > 0) {
    const runtime::Buffer qa = alloc({n, m.q_lora_rank});
    linear(a.q_a_proj, h, n, qa.f32());
    norm(qa.f32(), a.q_a_norm, n, qa.f32());
    linear(a.q_b_proj, qa.f32(), n, q.f32());
  } else {
    linear(a.q_proj, h, n, q.f32());
  }

  // Cache entries [latent | k_rope]: [n, lr + rd].
  const runtime::Buffer kv_a = alloc({n, lr + rd});
  linear(a.kv_a_proj, h, n, kv_a.f32());
  {
    OpTimer timer(this, Op::kRope);
    be.rope(rope_, b.positions.data(), n, nh, qk_head, nope, q.f32());
    be.rope(rope_, b.positions.data(), n, 1, lr + rd, lr, kv_a.f32());
  }
  const kernels::PagedCache cache = kv.layer(layer);
  const kernels::TokenLayout tokens{b.positions.data(), b.seq_idx.data(), &b.block_tables, n};
  {
    OpTimer timer(this, Op::kKvWrite);
    // The latent is normed row by row out of [latent | k_rope] rows, then written beside the
    // rotated k_rope.
    const runtime::Buffer latent_normed = alloc({n, lr});
    for (int64_t t = 0; t < n; ++t)
      be.rms_norm(kv_a.f32() + t * (lr + rd), a.kv_a_norm.data(), 1, lr, eps,
                  latent_normed.f32() + t * lr);
    const runtime::KvPart parts[] = {{latent_normed.f32(), lr, lr}, {kv_a.f32() + lr, rd, lr + rd}};
    be.write_kv(cache, tokens, parts);
  }

  // Absorb W_uk into the query, head by head: q_latent[t, h, :] = W_uk[h]^T q_nope[t, h, :].
  // The per-head products run as one group over head-major copies ([nh, n, dim]).
  const runtime::Buffer by_head = alloc({nh, n, std::max(nope, vd)});
  const runtime::Buffer latent = alloc({nh, n, lr});
  const runtime::Buffer q_latent = alloc({n, nh, lr}), q_rope = alloc({n, nh, rd});
  be.to_head_major(q.f32(), n, nh, qk_head, 0, nope, by_head.f32());
  be.to_head_major(q.f32(), n * nh, 1, qk_head, nope, rd, q_rope.f32());  // [n, nh, rd]
  linear_group(a.uk_t, by_head.f32(), n, latent.f32());
  be.from_head_major(latent.f32(), n, nh, lr, q_latent.f32());

  const runtime::Buffer latent_out = alloc({n, nh, lr});
  const kernels::MlaShape shape{static_cast<int32_t>(nh), static_cast<int32_t>(lr),
                                static_cast<int32_t>(rd), softmax_scale_};
  mla_attention(shape, tokens, cache, q_latent.f32(), q_rope.f32(), latent_out.f32());

  // Apply W_uv: o[t, h, :] = W_uv[h] latent_out[t, h, :], then o_proj.
  be.to_head_major(latent_out.f32(), n, nh, lr, 0, lr, latent.f32());
  linear_group(a.uv, latent.f32(), n, by_head.f32());
  const runtime::Buffer o = alloc({n, nh, vd});
  be.from_head_major(by_head.f32(), n, nh, vd, o.f32());
  linear(a.o_proj, o.f32(), n, out);
}

void DeepseekModel::moe(const MoeWeights& w, const float* h, int64_t n, float* out) const {
  const MoeConfig& e = cfg_.moe;
  runtime::Backend& be = backend();
  const int64_t d = cfg_.hidden_size, k = e.num_experts_per_tok;
  const runtime::Buffer router = alloc({n, e.num_routed_experts});
  linear(w.gate, h, n, router.f32());
  std::optional<OpTimer> timer(std::in_place, this, Op::kMoeRouting);
  std::vector<float> router_logits(static_cast<size_t>(router.numel()));
  be.copy_to_host(router_logits.data(), router, router.size_bytes());
  const RoutingResult r = route_tokens(e, router_logits.data(), n, w.correction_bias);
  timer.reset();

  be.fill(out, 0.0f, n * d);
  if (e.num_shared_experts > 0) mlp(w.shared, h, n, out);

  // Group tokens by expert so each expert runs once over all of its tokens.
  std::vector<std::vector<int64_t>> slots(static_cast<size_t>(e.num_routed_experts));
  for (int64_t s = 0; s < n * k; ++s) slots[r.expert_idx[s]].push_back(s);
  runtime::Buffer xs, ys;
  std::vector<int64_t> token_of;
  std::vector<float> weight;
  for (int64_t x = 0; x < e.num_routed_experts; ++x) {
    const auto& sl = slots[x];
    if (sl.empty()) continue;
    const int64_t m = static_cast<int64_t>(sl.size());
    be.reserve(xs, m * d);
    be.reserve(ys, m * d);
    timer.emplace(this, Op::kMoeRouting);
    token_of.resize(static_cast<size_t>(m));
    weight.resize(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
      token_of[i] = sl[i] / k;
      weight[i] = r.weight[sl[i]];
    }
    be.gather_rows(h, d, token_of, xs.f32(), d, 0);
    timer.reset();
    {
      const LoraRowScope rows(this, token_of);  // expert rows are gathered tokens
      mlp(w.experts[x], xs.f32(), m, ys.f32());
    }
    timer.emplace(this, Op::kMoeRouting);
    be.scatter_add_rows(ys.f32(), d, token_of, weight, out);
    timer.reset();
  }
}

}  // namespace

Result<std::unique_ptr<Model>> make_deepseek(ModelConfig cfg, const formats::Checkpoint& ck,
                                             LoadOptions opts) {
  auto m = std::make_unique<DeepseekModel>(std::move(cfg), opts);
  FATHOM_RETURN_IF_ERROR(m->load(ck));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace fathom::model
