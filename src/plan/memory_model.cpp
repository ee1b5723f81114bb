#include "plan/memory_model.h"

#include <cmath>

namespace fathom::plan {
namespace {

// Accumulates tensors into the footprint: `routed` ones belong to one routed expert.
class Tally {
 public:
  Tally(const WeightFormat& fmt, WeightFootprint& out) : fmt_(fmt), out_(out) {}

  // A linear layer [rows_out, cols_in] in the chosen format, read every step.
  void linear(int64_t rows_out, int64_t cols_in) {
    add_params(rows_out * cols_in, true);
    always(fmt_.matrix_bytes(rows_out, cols_in));
    out_.linear_flops_per_token += 2 * rows_out * cols_in;
  }
  // A float tensor of `n` elements kept beside the linears (norms, biases, router), read every
  // step.
  void floats(int64_t n, int64_t elem_bytes) {
    add_params(n, true);
    always(n * elem_bytes);
  }
  void router_bias(int64_t n) { floats(n, 4); }
  int64_t float_bytes() const {
    return fmt_.float_bytes();
  }  // e_score_correction_bias is f32 in every checkpoint
  void expert(int64_t hidden, int64_t inter) {
    const int64_t b = 3 * fmt_.matrix_bytes(inter, hidden);
    out_.expert_bytes = b;
    out_.total_params += 3 * inter * hidden;
    out_.total_bytes += b;
  }
  void embedding(int64_t n) {
    out_.total_params += n;
    out_.embedding_bytes += n * fmt_.float_bytes();
    out_.total_bytes += n * fmt_.float_bytes();
  }
  void lm_head(int64_t vocab, int64_t hidden) {  // kept in float by every format fathom loads
    add_params(vocab * hidden, true);
    always(vocab * hidden * fmt_.float_bytes());
    out_.linear_flops_per_token += 2 * vocab * hidden;
  }

 private:
  void add_params(int64_t n, bool active) {
    out_.total_params += n;
    if (active) out_.active_params += n;
  }
  void always(int64_t bytes) {
    out_.always_read_bytes += bytes;
    out_.total_bytes += bytes;
  }
  const WeightFormat& fmt_;
  WeightFootprint& out_;
};

void tally_attention(const model::ModelConfig& c, Tally& t) {
  const int64_t h = c.hidden_size, fb = t.float_bytes();
  if (c.family == model::ArchFamily::kDeepseek) {
    const model::MlaConfig& m = c.mla;
    const int64_t qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
    if (m.q_lora_rank > 0) {
      t.linear(m.q_lora_rank, h);
      t.floats(m.q_lora_rank, fb);  // q_a_layernorm
      t.linear(c.num_heads * qk, m.q_lora_rank);
    } else {
      t.linear(c.num_heads * qk, h);
    }
    t.linear(m.kv_lora_rank + m.qk_rope_head_dim, h);  // kv_a_proj_with_mqa
    t.floats(m.kv_lora_rank, fb);                      // kv_a_layernorm
    t.linear(c.num_heads * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank);  // kv_b_proj
    t.linear(h, c.num_heads * m.v_head_dim);                                      // o_proj
    return;
  }
  const int64_t q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  t.linear(q, h);
  t.linear(kv, h);
  t.linear(kv, h);
  t.linear(h, q);
  if (c.qkv_bias) t.floats(q + 2 * kv, fb);
}

}  // namespace

WeightFootprint weight_footprint(const model::ModelConfig& c, const WeightFormat& fmt) {
  WeightFootprint w;
  Tally t(fmt, w);
  const int64_t h = c.hidden_size, fb = fmt.float_bytes();
  t.embedding(c.vocab_size * h);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    t.floats(2 * h, fb);  // input and post-attention norms
    tally_attention(c, t);
    if (!c.is_moe_layer(layer)) {
      t.linear(c.intermediate_size, h);
      t.linear(c.intermediate_size, h);
      t.linear(h, c.intermediate_size);
      continue;
    }
    const model::MoeConfig& m = c.moe;
    ++w.num_moe_layers;
    t.floats(m.num_routed_experts * h, fb);  // router gate
    if (m.topk_method == model::TopkMethod::kNoauxTc) t.router_bias(m.num_routed_experts);
    const int64_t shared = m.num_shared_experts * m.moe_intermediate_size;
    if (shared > 0) {
      t.linear(shared, h);
      t.linear(shared, h);
      t.linear(h, shared);
    }
    for (int64_t e = 0; e < m.num_routed_experts; ++e) t.expert(h, m.moe_intermediate_size);
  }
  t.floats(h, fb);  // final norm
  if (!c.tie_word_embeddings)
    t.lm_head(c.vocab_size, h);
  else
    w.linear_flops_per_token += 2 * c.vocab_size * h;  // the tied table doubles as lm_head
  w.num_routed_experts = c.moe.num_routed_experts;
  w.experts_per_token = c.moe.num_experts_per_tok;
  const int64_t expert_params = 3 * h * c.moe.moe_intermediate_size;
  w.active_params += w.num_moe_layers * w.experts_per_token * expert_params;
  w.linear_flops_per_token += 2 * w.num_moe_layers * w.experts_per_token * expert_params;
  return w;
}

int64_t kv_bytes_per_token(const model::ModelConfig& c, KvDtype dtype) {
  const int64_t per_layer = c.family == model::ArchFamily::kDeepseek
                                ? c.mla.kv_lora_rank + c.mla.qk_rope_head_dim
                                : 2 * c.num_kv_heads * c.head_dim;
  return c.num_layers * per_layer * kv_dtype_bytes(dtype);
}

double attention_flops_per_token(const model::ModelConfig& c, int64_t context) {
  // Per head and cached position: one dot product for the score and one multiply-add into the
  // output; absorbed MLA does both over the latent (+ rope) width.
  double qk = 0, v = 0;
  if (c.family == model::ArchFamily::kDeepseek) {
    qk = static_cast<double>(c.mla.kv_lora_rank + c.mla.qk_rope_head_dim);
    v = static_cast<double>(c.mla.kv_lora_rank);
  } else {
    qk = v = static_cast<double>(c.head_dim);
  }
  return 2.0 * static_cast<double>(c.num_layers * c.num_heads) * (qk + v) *
         static_cast<double>(context);
}

double decode_weight_bytes(const WeightFootprint& w, int64_t batch) {
  double experts = 0;
  if (w.num_routed_experts > 0) {
    const double e = static_cast<double>(w.num_routed_experts);
    const double k = static_cast<double>(w.experts_per_token);
    experts = e * (1.0 - std::pow(1.0 - k / e, static_cast<double>(batch)));
  }
  return static_cast<double>(w.always_read_bytes) +
         static_cast<double>(w.num_moe_layers) * experts * static_cast<double>(w.expert_bytes);
}

}  // namespace fathom::plan
