// The memory of the paged KV cache: one [num_blocks, block_size, entry_dim] array per layer,
// of float, bf16 or fp8 elements (kernels::KvDtype). What an entry holds is the model's business
// (K|V for MHA, latent|k_rope for MLA).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "base/status.h"
#include "kernels/ops.h"

namespace fathom::runtime {

struct KvLayout {
  int32_t num_layers = 0;
  int32_t entry_dim = 0;  ///< elements per token per layer
};

/// Bytes one token takes in every layer's cache; plan::kv_bytes_per_token gives the same for a
/// model config (tests/runtime/kv_storage_test.cpp checks they agree).
inline int64_t kv_bytes_per_token(const KvLayout& layout, kernels::KvDtype dtype) {
  return static_cast<int64_t>(layout.num_layers) * layout.entry_dim *
         kernels::kv_dtype_bytes(dtype);
}

class KvStorage {
 public:
  /// Fails (ResourceExhausted) rather than crashing when the allocation is too large.
  static Result<KvStorage> allocate(const KvLayout& layout, int32_t num_blocks, int32_t block_size,
                                    kernels::KvDtype dtype = kernels::KvDtype::kF32);

  kernels::PagedCache layer(int32_t layer_idx);
  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  kernels::KvDtype dtype() const { return dtype_; }
  const KvLayout& layout() const { return layout_; }
  int64_t size_bytes() const { return size_bytes_; }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  KvLayout layout_;
  int32_t num_blocks_ = 0;
  int32_t block_size_ = 0;
  kernels::KvDtype dtype_ = kernels::KvDtype::kF32;
  int64_t size_bytes_ = 0;
  // calloc: a large block comes from mmap already zeroed, so pages are touched only when a
  // sequence first writes them, not all at start-up (cold start: docs/serverless.md).
  std::unique_ptr<void, Free> data_;
};

}  // namespace fathom::runtime
