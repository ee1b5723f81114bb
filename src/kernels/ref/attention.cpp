#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ops.h"

namespace fathom::kernels {
namespace {

// softmax over scores[0..n) in place; returns nothing, scores become probabilities.
void softmax_inplace(float* scores, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, scores[j]);
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) scores[j] *= inv;
}

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Positions 0..ctx-1 of a sequence, dequantized into buf: [ctx, entry_dim].
const float* read_context(const PagedCache& cache, const std::vector<int32_t>& table, int32_t ctx,
                          std::vector<float>& buf) {
  buf.resize(static_cast<size_t>(ctx) * cache.entry_dim);
  for (int32_t j = 0; j < ctx; ++j) read_kv(cache, table, j, buf.data() + j * cache.entry_dim);
  return buf.data();
}

}  // namespace

void paged_attention(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
                     const float* q, float* out, ThreadPool& pool) {
  const int64_t hd = shape.head_dim;
  const int64_t group = shape.num_heads / shape.num_kv_heads;
  const int64_t v_offset = static_cast<int64_t>(shape.num_kv_heads) * hd;
  pool.parallel_for(tokens.num_tokens * shape.num_heads, [&](int64_t begin, int64_t end) {
    std::vector<float> scores, entries;
    for (int64_t th = begin; th < end; ++th) {
      const int64_t t = th / shape.num_heads, h = th % shape.num_heads, kvh = h / group;
      const int32_t ctx = tokens.positions[t] + 1;
      const auto& table = (*tokens.block_tables)[tokens.seq_idx[t]];
      const float* qv = q + th * hd;
      const float* e = read_context(cache, table, ctx, entries);
      scores.resize(ctx);
      for (int32_t j = 0; j < ctx; ++j)
        scores[j] = dot(qv, e + j * cache.entry_dim + kvh * hd, hd) * shape.scale;
      softmax_inplace(scores.data(), ctx);
      float* o = out + th * hd;
      std::fill(o, o + hd, 0.0f);
      for (int32_t j = 0; j < ctx; ++j) {
        const float* v = e + j * cache.entry_dim + v_offset + kvh * hd;
        for (int64_t i = 0; i < hd; ++i) o[i] += scores[j] * v[i];
      }
    }
  });
}

void paged_mla_attention(const MlaShape& shape, const TokenLayout& tokens,
                         const PagedCache& cache, const float* q_latent, const float* q_rope,
                         float* out, ThreadPool& pool) {
  const int64_t lr = shape.kv_lora_rank, rd = shape.rope_dim;
  pool.parallel_for(tokens.num_tokens * shape.num_heads, [&](int64_t begin, int64_t end) {
    std::vector<float> scores, entries;
    for (int64_t th = begin; th < end; ++th) {
      const int64_t t = th / shape.num_heads;
      const int32_t ctx = tokens.positions[t] + 1;
      const auto& table = (*tokens.block_tables)[tokens.seq_idx[t]];
      const float* ql = q_latent + th * lr;
      const float* qr = q_rope + th * rd;
      const float* es = read_context(cache, table, ctx, entries);
      scores.resize(ctx);
      for (int32_t j = 0; j < ctx; ++j) {
        const float* e = es + j * cache.entry_dim;
        scores[j] = (dot(ql, e, lr) + dot(qr, e + lr, rd)) * shape.scale;
      }
      softmax_inplace(scores.data(), ctx);
      float* o = out + th * lr;
      std::fill(o, o + lr, 0.0f);
      for (int32_t j = 0; j < ctx; ++j) {
        const float* c = es + j * cache.entry_dim;
        for (int64_t i = 0; i < lr; ++i) o[i] += scores[j] * c[i];
      }
    }
  });
}

}  // namespace fathom::kernels
