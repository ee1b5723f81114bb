#include "kv/block_pool.h"

#include "base/check.h"

namespace fathom::kv {

BlockPool::BlockPool(int32_t num_blocks) : ref_count_(static_cast<size_t>(num_blocks), 0) {
  free_list_.reserve(static_cast<size_t>(num_blocks));
  for (BlockId id = num_blocks - 1; id >= 0; --id) free_list_.push_back(id);
}

std::optional<BlockList> BlockPool::allocate(int32_t num_blocks) {
  if (num_blocks < 0 || num_blocks > num_free()) return std::nullopt;
  BlockList out;
  out.reserve(static_cast<size_t>(num_blocks));
  for (int32_t i = 0; i < num_blocks; ++i) {
    BlockId id = free_list_.back();
    free_list_.pop_back();
    FATHOM_DCHECK(ref_count_[id] == 0);
    ref_count_[id] = 1;
    out.push_back(id);
  }
  return out;
}

void BlockPool::retain(std::span<const BlockId> blocks) {
  for (BlockId id : blocks) {
    FATHOM_DCHECK(ref_count_.at(id) > 0);
    ++ref_count_[id];
  }
}

void BlockPool::release(std::span<const BlockId> blocks) {
  for (BlockId id : blocks) {
    FATHOM_CHECK(ref_count_.at(id) > 0);  // double release is a programmer error
    if (--ref_count_[id] == 0) free_list_.push_back(id);
  }
}

}  // namespace fathom::kv
