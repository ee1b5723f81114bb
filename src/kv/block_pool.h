// KV-cache block bookkeeping: which fixed-size blocks are free and who references them.
// Pure CPU bookkeeping; the memory itself belongs to runtime::KvStorage.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace fathom::kv {

using BlockId = int32_t;
using BlockList = std::vector<BlockId>;

class BlockPool {
 public:
  explicit BlockPool(int32_t num_blocks);

  /// Returns std::nullopt when fewer than `num_blocks` are free. The caller answers with
  /// preempt-or-wait; this is not an error.
  std::optional<BlockList> allocate(int32_t num_blocks);

  /// Adds one reference to each block (prefix sharing).
  void retain(std::span<const BlockId> blocks);

  /// Drops one reference per block; a block returns to the free list at zero refs.
  void release(std::span<const BlockId> blocks);

  int32_t num_blocks() const { return static_cast<int32_t>(ref_count_.size()); }
  int32_t num_free() const { return static_cast<int32_t>(free_list_.size()); }
  int32_t ref_count(BlockId id) const { return ref_count_.at(static_cast<size_t>(id)); }

 private:
  std::vector<int32_t> ref_count_;
  std::vector<BlockId> free_list_;  // LIFO: recently freed blocks are reused first
};

/// Blocks needed to hold `num_tokens` tokens.
inline int32_t blocks_for_tokens(int64_t num_tokens, int32_t block_size) {
  return static_cast<int32_t>((num_tokens + block_size - 1) / block_size);
}

}  // namespace fathom::kv
