#include "runtime/kv_storage.h"

#include <string>

namespace fathom::runtime {

Result<KvStorage> KvStorage::allocate(const KvLayout& layout, int32_t num_blocks,
                                      int32_t block_size, kernels::KvDtype dtype) {
  if (num_blocks <= 0 || block_size <= 0 || layout.num_layers <= 0 || layout.entry_dim <= 0)
    return invalid_argument("KV cache needs positive blocks, block size, layers and entry size");
  KvStorage s;
  s.layout_ = layout;
  s.num_blocks_ = num_blocks;
  s.block_size_ = block_size;
  s.dtype_ = dtype;
  const int64_t bytes = kv_bytes_per_token(layout, dtype) * num_blocks * block_size;
  s.data_.reset(std::calloc(static_cast<size_t>(bytes), 1));
  if (!s.data_)
    return resource_exhausted("KV cache of " + std::to_string(bytes) + " bytes does not fit");
  s.size_bytes_ = bytes;
  return s;
}

kernels::PagedCache KvStorage::layer(int32_t layer_idx) {
  const int64_t per_layer = static_cast<int64_t>(num_blocks_) * block_size_ * layout_.entry_dim *
                            kernels::kv_dtype_bytes(dtype_);
  return {static_cast<char*>(data_.get()) + layer_idx * per_layer, num_blocks_, block_size_,
          layout_.entry_dim, dtype_};
}

}  // namespace fathom::runtime
