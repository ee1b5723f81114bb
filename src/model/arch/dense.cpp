#include "model/arch/dense.h"

#include <cmath>

#include "model/rope.h"
#include "model/weight_loader.h"

namespace fathom::model {
namespace {

using kernels::LinearWeight;

struct DenseLayer {
  std::vector<float> attn_norm, ffn_norm;
  LinearWeight wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;  // empty without qkv bias
  MlpWeights mlp;
};

class DenseModel final : public Model {
 public:
  DenseModel(ModelConfig cfg, LoadOptions opts) : Model(std::move(cfg), opts) {}

  Status load(const formats::Checkpoint& ck) {
    const ModelConfig& c = cfg_;
    WeightLoader w(ck, c, requantize_target(c, opts_.quantization),
                   opts_.weight_cache_session.get());
    const int64_t d = c.hidden_size, hd = c.head_dim;
    embed_ = w.linear("model.embed_tokens", c.vocab_size, d);
    lm_head_ = c.tie_word_embeddings ? embed_ : w.linear("lm_head", c.vocab_size, d);
    final_norm_ = w.vector("model.norm.weight", d);
    layers_.resize(static_cast<size_t>(c.num_layers));
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      DenseLayer& L = layers_[l];
      L.attn_norm = w.vector(p + "input_layernorm.weight", d);
      L.ffn_norm = w.vector(p + "post_attention_layernorm.weight", d);
      L.wq = w.linear(p + "self_attn.q_proj", c.num_heads * hd, d);
      L.wk = w.linear(p + "self_attn.k_proj", c.num_kv_heads * hd, d);
      L.wv = w.linear(p + "self_attn.v_proj", c.num_kv_heads * hd, d);
      L.wo = w.linear(p + "self_attn.o_proj", d, c.num_heads * hd);
      if (c.qkv_bias) {
        L.bq = w.vector(p + "self_attn.q_proj.bias", c.num_heads * hd);
        L.bk = w.vector(p + "self_attn.k_proj.bias", c.num_kv_heads * hd);
        L.bv = w.vector(p + "self_attn.v_proj.bias", c.num_kv_heads * hd);
      }
      L.mlp.gate = w.linear(p + "mlp.gate_proj", c.intermediate_size, d);
      L.mlp.up = w.linear(p + "mlp.up_proj", c.intermediate_size, d);
      L.mlp.down = w.linear(p + "mlp.down_proj", d, c.intermediate_size);
    }
    rope_ = make_rope_table(c.rope, hd, c.max_position_embeddings, kernels::RopeStyle::kNeox);
    FATHOM_RETURN_IF_ERROR(w.finish());
    for (int64_t l = 0; l < c.num_layers; ++l) {  // layers_ is final: addresses are stable
      const std::string p = "model.layers." + std::to_string(l) + ".";
      const DenseLayer& L = layers_[l];
      for (const auto& [name, weight] : {std::pair{"self_attn.q_proj", &L.wq},
                                         {"self_attn.k_proj", &L.wk},
                                         {"self_attn.v_proj", &L.wv},
                                         {"self_attn.o_proj", &L.wo},
                                         {"mlp.gate_proj", &L.mlp.gate},
                                         {"mlp.up_proj", &L.mlp.up},
                                         {"mlp.down_proj", &L.mlp.down}})
        add_lora_target(p + name, *weight);
    }
    return ok_status();
  }

  runtime::KvLayout kv_layout() const override {
    return {static_cast<int32_t>(cfg_.num_layers),
            static_cast<int32_t>(2 * cfg_.num_kv_heads * cfg_.head_dim)};
  }

  WeightBytes weight_bytes() const override {
    WeightBytes b;
    each_linear(*this, [&b](const LinearWeight& w) {
      b.total += w.size_bytes();
      b.per_token += w.one_row_bytes();
    });
    return b;
  }

  void for_each_linear(const std::function<void(LinearWeight&)>& fn) override {
    each_linear(*this, fn);
  }

 private:
  template <class Self, class Fn>
  static void each_linear(Self& self, Fn&& fn) {
    fn(self.lm_head_);
    for (auto& L : self.layers_)
      for (auto* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.mlp.gate, &L.mlp.up, &L.mlp.down}) fn(*w);
  }

  void forward_validated(const ForwardBatch& b, runtime::KvStorage& kv, float* logits) override;

  LinearWeight embed_, lm_head_;
  std::vector<float> final_norm_;
  std::vector<DenseLayer> layers_;
  kernels::RopeTable rope_;
};

void DenseModel::forward_validated(const ForwardBatch& b, runtime::KvStorage& kv, float* logits) {
  const ModelConfig& c = cfg_;
  runtime::Backend& be = backend();
  const int64_t n = b.num_tokens(), d = c.hidden_size, hd = c.head_dim;
  const int64_t q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd;

  const runtime::Buffer x = alloc({n, d});  // residual stream
  embed(embed_, b, x.f32());

  const runtime::Buffer h = alloc({n, d}), q = alloc({n, q_dim}), k = alloc({n, kv_dim}),
                        v = alloc({n, kv_dim}), attn = alloc({n, q_dim}), out = alloc({n, d});
  const kernels::TokenLayout tokens{b.positions.data(), b.seq_idx.data(), &b.block_tables, n};
  const kernels::MhaShape shape{static_cast<int32_t>(c.num_heads), static_cast<int32_t>(c.num_kv_heads),
                                static_cast<int32_t>(hd), 1.0f / std::sqrt(static_cast<float>(hd))};

  for (int64_t l = 0; l < c.num_layers; ++l) {
    const DenseLayer& L = layers_[l];
    norm(x.f32(), L.attn_norm, n, h.f32());
    linear(L.wq, h.f32(), n, q.f32());
    linear(L.wk, h.f32(), n, k.f32());
    linear(L.wv, h.f32(), n, v.f32());
    {
      OpTimer timer(this, Op::kRope);
      if (c.qkv_bias) {
        be.add_bias(q.f32(), L.bq.data(), n, q_dim);
        be.add_bias(k.f32(), L.bk.data(), n, kv_dim);
        be.add_bias(v.f32(), L.bv.data(), n, kv_dim);
      }
      be.rope(rope_, b.positions.data(), n, c.num_heads, hd, 0, q.f32());
      be.rope(rope_, b.positions.data(), n, c.num_kv_heads, hd, 0, k.f32());
    }

    // Write this step's K and V into the paged cache: entry = [K | V].
    const kernels::PagedCache cache = kv.layer(static_cast<int32_t>(l));
    {
      OpTimer timer(this, Op::kKvWrite);
      const runtime::KvPart parts[] = {{k.f32(), kv_dim, kv_dim}, {v.f32(), kv_dim, kv_dim}};
      be.write_kv(cache, tokens, parts);
    }
    attention(shape, tokens, cache, q.f32(), attn.f32());
    linear(L.wo, attn.f32(), n, out.f32());
    add_residual(x.f32(), out.f32(), n * d);
    norm(x.f32(), L.ffn_norm, n, h.f32());
    mlp(L.mlp, h.f32(), n, out.f32());
    add_residual(x.f32(), out.f32(), n * d);
  }
  lm_head_logits(lm_head_, final_norm_, x.f32(), b, logits);
}

}  // namespace

Result<std::unique_ptr<Model>> make_dense(ModelConfig cfg, const formats::Checkpoint& ck,
                                          LoadOptions opts) {
  auto m = std::make_unique<DenseModel>(std::move(cfg), opts);
  FATHOM_RETURN_IF_ERROR(m->load(ck));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace fathom::model
