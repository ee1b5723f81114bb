// The memory of the paged KV cache: one [num_blocks, block_size, entry_dim] float array per
// layer. What an entry holds is the model's business (K|V for MHA, latent|k_rope for MLA).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "base/status.h"
#include "kernels/ops.h"

namespace fathom::runtime {

struct KvLayout {
  int32_t num_layers = 0;
  int32_t entry_dim = 0;  ///< floats per token per layer
};

class KvStorage {
 public:
  /// Fails (ResourceExhausted) rather than crashing when the allocation is too large.
  static Result<KvStorage> allocate(const KvLayout& layout, int32_t num_blocks,
                                    int32_t block_size);

  kernels::PagedCache layer(int32_t layer_idx);
  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  const KvLayout& layout() const { return layout_; }
  int64_t size_bytes() const { return num_floats_ * static_cast<int64_t>(sizeof(float)); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  KvLayout layout_;
  int32_t num_blocks_ = 0;
  int32_t block_size_ = 0;
  int64_t num_floats_ = 0;
  // calloc: a large block comes from mmap already zeroed, so pages are touched only when a
  // sequence first writes them, not all at start-up (cold start: docs/serverless.md).
  std::unique_ptr<float[], Free> data_;
};

}  // namespace fathom::runtime
