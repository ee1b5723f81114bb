#include "runtime/kv_storage.h"


namespace fathom::runtime {

Result<KvStorage> KvStorage::allocate(const KvLayout& layout, int32_t num_blocks,
                                      int32_t block_size) {
  if (num_blocks <= 0 || block_size <= 0 || layout.num_layers <= 0 || layout.entry_dim <= 0)
    return invalid_argument("KV cache needs positive blocks, block size, layers and entry size");
  KvStorage s;
  s.layout_ = layout;
  s.num_blocks_ = num_blocks;
  s.block_size_ = block_size;
  const int64_t n = static_cast<int64_t>(layout.num_layers) * num_blocks * block_size *
                    layout.entry_dim;
  s.data_.reset(static_cast<float*>(std::calloc(static_cast<size_t>(n), sizeof(float))));
  if (!s.data_) return resource_exhausted("KV cache of " + std::to_string(n * 4) + " bytes does not fit");
  s.num_floats_ = n;
  return s;
}

kernels::PagedCache KvStorage::layer(int32_t layer_idx) {
  const int64_t per_layer = static_cast<int64_t>(num_blocks_) * block_size_ * layout_.entry_dim;
  return {data_.get() + layer_idx * per_layer, num_blocks_, block_size_, layout_.entry_dim};
}

}  // namespace fathom::runtime
