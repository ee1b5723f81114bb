// The compute backend that model code runs on: activation buffers (allocation and copies) and
// every op of a forward pass. Model files (src/model/arch, lora) include this header, never
// kernels/cpu or kernels/ref, and never name a device: a CUDA backend implements the same
// interface (docs/architecture.md, "The backend layer").
//
// Pointers passed to the ops point into the backend's own memory (Buffer::f32(), a
// KvStorage layer); for the CPU backends that is host memory. Host-side inputs that describe
// the batch (token ids, positions, block tables: TokenLayout) stay host pointers; a device
// backend uploads what it needs. The weight and cache types the kernels use (LinearWeight,
// PagedCache, TokenLayout, MhaShape, MlaShape, RopeTable) are the op parameters.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_weight.h"
#include "kernels/ops.h"

namespace fathom::runtime {

enum class DType : uint8_t { kF32, kI32 };
int64_t dtype_size(DType t);

/// A device-agnostic activation buffer: shape, element type and an opaque handle the owning
/// backend allocated (host memory for the CPU backends). Movable; copies share the memory.
class Buffer {
 public:
  Buffer() = default;
  const std::vector<int64_t>& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t numel() const;
  int64_t size_bytes() const { return numel() * dtype_size(dtype_); }
  bool empty() const { return numel() == 0; }
  /// The opaque handle (a host pointer for the CPU backends). Only pass it to the backend.
  void* handle() const { return handle_; }
  /// The handle typed for the ops: float elements in the backend's memory.
  float* f32() const { return static_cast<float*>(handle_); }

 private:
  friend class Backend;
  std::vector<int64_t> shape_;
  DType dtype_ = DType::kF32;
  void* handle_ = nullptr;
  std::shared_ptr<void> owner_;
};

/// One part of a paged-cache entry: `width` floats per token, token t's read from
/// data + t * row_stride. write_kv concatenates its parts in order into the entry.
struct KvPart {
  const float* data = nullptr;
  int64_t width = 0;
  int64_t row_stride = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  /// "cpu", "reference" (and later "cuda").
  virtual const char* name() const = 0;

  // --- memory -----------------------------------------------------------------------------
  /// A zero-filled buffer of `shape` (row-major) owned by this backend.
  virtual Buffer alloc(std::vector<int64_t> shape, DType dtype = DType::kF32) = 0;
  /// Keeps `buf` at least `numel` floats, reusing its memory when it already is (scratch that
  /// lives across layers and steps). Contents are unspecified after growing.
  void reserve(Buffer& buf, int64_t numel);
  virtual void copy_from_host(const Buffer& dst, const void* src, int64_t bytes) = 0;
  virtual void copy_to_host(void* dst, const Buffer& src, int64_t bytes) = 0;
  /// dst[0, count) = src[0, count) floats, both in this backend's memory (need not be buffer
  /// starts). Also copies rows of a batch.
  virtual void copy(float* dst, const float* src, int64_t count) = 0;
  virtual void fill(float* x, float value, int64_t count) = 0;

  // --- linear ----------------------------------------------------------------------------
  /// y[n, out] = x[n, in] . W^T.
  virtual void linear(const kernels::LinearWeight& w, const float* x, int64_t n, float* y) = 0;
  /// ws.size() independent products of one shape: y_i[n, out] = x_i[n, in] . W_i^T with
  /// x = [ws.size(), n, in], y = [ws.size(), n, out] (MLA's per-head up-projections).
  virtual void linear_group(const std::vector<kernels::LinearWeight>& ws, const float* x, int64_t n,
                            float* y) = 0;

  // --- element-wise ----------------------------------------------------------------------
  /// y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * w[:]. x, y: [rows, dim]; may alias.
  virtual void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps,
                        float* y) = 0;
  /// x[i] += y[i] for i < count.
  virtual void add(float* x, const float* y, int64_t count) = 0;
  /// x[r, :] += bias[:] for r < rows. bias: host or backend memory the model owns.
  virtual void add_bias(float* x, const float* bias, int64_t rows, int64_t dim) = 0;
  /// out[i] = silu(gate[i]) * up[i] (SwiGLU); out may be gate.
  virtual void silu_mul(const float* gate, const float* up, int64_t count, float* out) = 0;
  /// Rotates x[t, h, offset : offset + rot_dim] by positions[t] (host). x: [n, heads, stride].
  virtual void rope(const kernels::RopeTable& rope, const int32_t* positions, int64_t n,
                    int64_t heads, int64_t stride, int64_t offset, float* x) = 0;
  /// out[t, :] = dequantized row token_ids[t] (host) of the embedding table. out: [n, in].
  virtual void embed(const kernels::LinearWeight& table, const int32_t* token_ids, int64_t n,
                     float* out) = 0;

  // --- layout ----------------------------------------------------------------------------
  /// dst[h, t, :] = src[t, h, offset : offset + width] for t < n, h < heads; src rows are
  /// `stride` floats per head. dst: [heads, n, width] (grouped per-head products).
  virtual void to_head_major(const float* src, int64_t n, int64_t heads, int64_t stride,
                             int64_t offset, int64_t width, float* dst) = 0;
  /// dst[t, h, :] = src[h, t, :]. src: [heads, n, width], dst: [n, heads, width].
  virtual void from_head_major(const float* src, int64_t n, int64_t heads, int64_t width,
                               float* dst) = 0;
  /// dst[i, dst_offset : dst_offset + width] = src[rows[i], :] for i < rows.size(), where
  /// src rows are `width` floats and dst rows `dst_stride` (MoE token gather, output rows,
  /// concatenation). rows: host indices.
  virtual void gather_rows(const float* src, int64_t width, std::span<const int64_t> rows,
                           float* dst, int64_t dst_stride, int64_t dst_offset) = 0;
  /// dst[rows[i], :] += weight[i] * src[i, :] (MoE combine, LoRA deltas). weight: host.
  virtual void scatter_add_rows(const float* src, int64_t width, std::span<const int64_t> rows,
                                std::span<const float> weight, float* dst) = 0;

  // --- KV cache and attention ------------------------------------------------------------
  /// Writes this step's cache entries: token t's entry (its sequence and position in `tokens`)
  /// becomes the concatenation of `parts` rows t. Widths must sum to cache.entry_dim.
  virtual void write_kv(const kernels::PagedCache& cache, const kernels::TokenLayout& tokens,
                        std::span<const KvPart> parts) = 0;
  /// Causal GQA attention over the paged cache (entry [K | V]). q, out: [n, heads, head_dim].
  virtual void attention(const kernels::MhaShape& shape, const kernels::TokenLayout& tokens,
                         const kernels::PagedCache& cache, const float* q, float* out) = 0;
  /// Absorbed multi-head latent attention (entry [latent | k_rope]); kernels/ops.h.
  virtual void mla_attention(const kernels::MlaShape& shape, const kernels::TokenLayout& tokens,
                             const kernels::PagedCache& cache, const float* q_latent,
                             const float* q_rope, float* out) = 0;

 protected:
  /// Wraps memory this backend allocated: `handle`, kept alive by `owner`.
  static Buffer make_buffer(std::vector<int64_t> shape, DType dtype, void* handle,
                            std::shared_ptr<void> owner);
};

/// The fast CPU backend: kernels/cpu's SIMD kernels on the process thread pool; `act` says
/// whether the linear kernels may round activations (kernels/linear.h).
std::unique_ptr<Backend> make_cpu_backend(
    kernels::ActivationPrecision act = kernels::ActivationPrecision::kExact);
/// The oracle: kernels/ref, one thread. Every op of the CPU backend is tested against it.
std::unique_ptr<Backend> make_reference_backend();

}  // namespace fathom::runtime
