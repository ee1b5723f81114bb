// Element-wise, normalisation, rotary and attention kernels on float activations.
// Shapes are row-major; comments give them as [rows, cols]. These are the reference
// implementations; those that dominate run time take a ThreadPool and split rows.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"

namespace fathom::kernels {

/// y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * w[:]. x, y: [num_rows, dim]; may alias.
void rms_norm(const float* x, const float* w, int64_t num_rows, int64_t dim, float eps, float* y);

/// x[i] += y[i]
void add_inplace(float* x, const float* y, int64_t n);

/// out[i] = silu(gate[i]) * up[i] for i < n.
void silu_mul(const float* gate, const float* up, int64_t n, float* out);

/// y[r, :] = x[r, :] + bias[:]  (in place)
void add_bias(float* x, const float* bias, int64_t num_rows, int64_t dim);

enum class RopeStyle {
  kNeox,         ///< rotate_half: pairs (i, i + dim/2)            (Llama, Qwen2)
  kInterleaved,  ///< pairs (2i, 2i + 1), complex multiplication    (DeepSeek V2/V3)
};

/// Per-frequency tables computed once at load (see model/rope.h for how they are derived).
struct RopeTable {
  std::vector<float> inv_freq;  ///< [rot_dim / 2]
  float attention_factor = 1.0f;  ///< multiplies cos and sin (YaRN)
  RopeStyle style = RopeStyle::kNeox;
};

/// Rotates x[t, h, offset : offset + rot_dim] in place by position[t].
/// x: [num_tokens, num_heads, stride] floats.
void apply_rope(const RopeTable& rope, const int32_t* positions, int64_t num_tokens,
                int64_t num_heads, int64_t stride, int64_t offset, float* x);

/// The element type of the paged KV cache (`fathom serve --kv-cache-dtype`). kFp8 is
/// float8_e4m3fn with one scale per layer (vLLM's k_scale/v_scale; 1 until calibrated).
enum class KvDtype : uint8_t { kF32, kBf16, kFp8 };
inline constexpr int64_t kv_dtype_bytes(KvDtype d) {
  return d == KvDtype::kF32 ? 4 : d == KvDtype::kBf16 ? 2 : 1;
}

/// A per-layer paged cache: [num_blocks, block_size, entry_dim] elements of `dtype` (float,
/// bf16 bits as uint16_t, or e4m3 codes as uint8_t). A sequence's position p lives in block
/// table[p / block_size], row p % block_size.
struct PagedCache {
  void* data = nullptr;
  int64_t num_blocks = 0;
  int32_t block_size = 0;
  int32_t entry_dim = 0;
  KvDtype dtype = KvDtype::kF32;
  float scale = 1.0f;  ///< kFp8: an entry's value is e4m3(code) * scale

  /// The entry of position `pos`, as stored. PRECOND: T matches dtype.
  template <class T>
  T* entry_as(std::span<const int32_t> table, int32_t pos) const {
    return static_cast<T*>(data) +
           (static_cast<int64_t>(table[pos / block_size]) * block_size + pos % block_size) *
               entry_dim;
  }
};

/// Which sequence and position each token of a flat batch belongs to.
struct TokenLayout {
  const int32_t* positions = nullptr;                  ///< [num_tokens]
  const int32_t* seq_idx = nullptr;                    ///< [num_tokens]
  const std::vector<std::vector<int32_t>>* block_tables = nullptr;  ///< per sequence
  int64_t num_tokens = 0;
};

/// Converts a step's entries to cache.dtype and stores them: row t of `src` (row stride
/// `src_stride` floats, `width` used) becomes elements [offset, offset + width) of token t's
/// entry. bf16 rounds to nearest even; fp8 divides by cache.scale, rounds to nearest even and
/// saturates at +-448.
void write_kv(const PagedCache& cache, const TokenLayout& tokens, const float* src,
              int64_t src_stride, int64_t offset, int64_t width);
/// Entry `pos` of `table`, dequantized into out[entry_dim] (what every attention kernel reads).
void read_kv(const PagedCache& cache, std::span<const int32_t> table, int32_t pos, float* out);

/// Standard causal attention over a paged cache whose entry is [K | V], each
/// [num_kv_heads, head_dim]. Token t attends to positions 0..positions[t] of its sequence.
/// q: [num_tokens, num_heads, head_dim], out: [num_tokens, num_heads, head_dim].
struct MhaShape {
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  float scale = 1.0f;
};
void paged_attention(const MhaShape& shape, const TokenLayout& tokens, const PagedCache& cache,
                     const float* q, float* out, ThreadPool& pool);

/// Multi-head latent attention in absorbed form over a cache whose entry is
/// [latent (kv_lora_rank) | k_rope (rope_dim)]:
///   score_j = scale * (q_latent . c_j + q_rope . kr_j), out = sum_j softmax(score)_j c_j.
/// q_latent: [num_tokens, num_heads, kv_lora_rank], q_rope: [num_tokens, num_heads, rope_dim],
/// out: [num_tokens, num_heads, kv_lora_rank].
struct MlaShape {
  int32_t num_heads = 0;
  int32_t kv_lora_rank = 0;
  int32_t rope_dim = 0;
  float scale = 1.0f;
};
void paged_mla_attention(const MlaShape& shape, const TokenLayout& tokens,
                         const PagedCache& cache, const float* q_latent, const float* q_rope,
                         float* out, ThreadPool& pool);

}  // namespace fathom::kernels
