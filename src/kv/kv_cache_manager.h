// Block tables with automatic prefix caching. A full block is identified by the hash of its
// tokens chained with the hash of the block before it, so equal prefixes map to equal blocks.
// Unreferenced blocks stay cached (evictable, least recently freed first) until reused.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/block_pool.h"

namespace fathom::kv {

/// Per-sequence prefix-cache state: hashes of its full blocks computed so far.
struct SequenceBlocks {
  BlockList table;
  std::vector<uint64_t> block_hashes;  ///< of table[0 .. block_hashes.size())
  /// Root of the hash chain: sequences with different salts (different LoRA adapters) never
  /// share cached blocks. 0 for the base model.
  uint64_t cache_salt = 0;
};

class KvCacheManager {
 public:
  KvCacheManager(int32_t num_blocks, int32_t block_size, bool enable_prefix_caching);

  /// Fills an empty `seq` with the longest cached prefix of `tokens` (whole blocks, leaving
  /// at least one token to compute) and returns the number of cached tokens.
  int64_t attach_cached_prefix(SequenceBlocks& seq, std::span<const int32_t> tokens);

  /// Makes `seq.table` hold at least `num_tokens` tokens. Returns false and changes nothing
  /// when there are not enough free blocks (the caller preempts or waits).
  bool grow(SequenceBlocks& seq, int64_t num_tokens);

  /// Registers the full blocks among the first `num_computed` tokens (their KV is written).
  void commit(SequenceBlocks& seq, std::span<const int32_t> tokens, int64_t num_computed);

  /// Drops the sequence's references; its cached blocks stay reusable until evicted.
  void release(SequenceBlocks& seq);

  /// Gives back the tail blocks beyond what `num_tokens` tokens need (rejected speculative
  /// tokens). Committed blocks are never among them: they hold computed tokens.
  void truncate(SequenceBlocks& seq, int64_t num_tokens);

  int32_t block_size() const { return block_size_; }
  int32_t num_blocks() const { return static_cast<int32_t>(ref_count_.size()); }
  int32_t num_free() const { return static_cast<int32_t>(free_.size()); }
  int64_t prefix_queries() const { return prefix_queries_; }  ///< tokens looked up
  int64_t prefix_hits() const { return prefix_hits_; }        ///< tokens found

 private:
  std::optional<BlockId> take_free_block();
  void retain(BlockId id);
  void drop_ref(BlockId id);

  int32_t block_size_;
  bool prefix_caching_;
  std::vector<int32_t> ref_count_;
  std::vector<std::optional<uint64_t>> hash_of_;
  std::unordered_map<uint64_t, BlockId> cached_;
  std::list<BlockId> free_;  // front = evicted first
  std::vector<std::list<BlockId>::iterator> free_pos_;
  std::vector<char> in_free_;
  int64_t prefix_queries_ = 0;
  int64_t prefix_hits_ = 0;
};

/// Hash of one full block chained to its parent's hash.
uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens);

}  // namespace fathom::kv
