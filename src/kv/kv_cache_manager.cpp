#include "kv/kv_cache_manager.h"

#include "base/check.h"

namespace fathom::kv {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix(parent ^ 0x66617468ull);
  for (int32_t t : tokens) h = mix(h ^ static_cast<uint32_t>(t));
  return h;
}

KvCacheManager::KvCacheManager(int32_t num_blocks, int32_t block_size, bool enable_prefix_caching)
    : block_size_(block_size),
      prefix_caching_(enable_prefix_caching),
      ref_count_(static_cast<size_t>(num_blocks), 0),
      hash_of_(static_cast<size_t>(num_blocks)),
      free_pos_(static_cast<size_t>(num_blocks)),
      in_free_(static_cast<size_t>(num_blocks), 1) {
  for (BlockId id = 0; id < num_blocks; ++id) free_pos_[id] = free_.insert(free_.end(), id);
}

void KvCacheManager::retain(BlockId id) {
  if (ref_count_[id]++ == 0 && in_free_[id]) {
    free_.erase(free_pos_[id]);
    in_free_[id] = 0;
  }
}

std::optional<BlockId> KvCacheManager::take_free_block() {
  if (free_.empty()) return std::nullopt;
  const BlockId id = free_.front();
  free_.pop_front();
  in_free_[id] = 0;
  if (hash_of_[id]) {  // evict its cached content
    auto it = cached_.find(*hash_of_[id]);
    if (it != cached_.end() && it->second == id) cached_.erase(it);
    hash_of_[id].reset();
  }
  FATHOM_DCHECK(ref_count_[id] == 0);
  ref_count_[id] = 1;
  return id;
}

int64_t KvCacheManager::attach_cached_prefix(SequenceBlocks& seq, std::span<const int32_t> tokens) {
  FATHOM_CHECK(seq.table.empty());
  if (!prefix_caching_ || tokens.empty()) return 0;
  const int64_t max_blocks = (static_cast<int64_t>(tokens.size()) - 1) / block_size_;
  prefix_queries_ += static_cast<int64_t>(tokens.size());
  uint64_t parent = seq.cache_salt;
  for (int64_t b = 0; b < max_blocks; ++b) {
    const uint64_t h = hash_block(parent, tokens.subspan(b * block_size_, block_size_));
    auto it = cached_.find(h);
    if (it == cached_.end()) break;
    retain(it->second);
    seq.table.push_back(it->second);
    seq.block_hashes.push_back(h);
    parent = h;
  }
  const int64_t hit = static_cast<int64_t>(seq.table.size()) * block_size_;
  prefix_hits_ += hit;
  return hit;
}

bool KvCacheManager::grow(SequenceBlocks& seq, int64_t num_tokens) {
  const int64_t need = blocks_for_tokens(num_tokens, block_size_) - static_cast<int64_t>(seq.table.size());
  if (need <= 0) return true;
  if (need > num_free()) return false;
  for (int64_t i = 0; i < need; ++i) seq.table.push_back(*take_free_block());
  return true;
}

void KvCacheManager::commit(SequenceBlocks& seq, std::span<const int32_t> tokens, int64_t num_computed) {
  if (!prefix_caching_) return;
  const int64_t full = std::min<int64_t>(num_computed, static_cast<int64_t>(tokens.size())) / block_size_;
  uint64_t parent = seq.block_hashes.empty() ? seq.cache_salt : seq.block_hashes.back();
  for (int64_t b = static_cast<int64_t>(seq.block_hashes.size()); b < full; ++b) {
    const uint64_t h = hash_block(parent, tokens.subspan(b * block_size_, block_size_));
    const BlockId id = seq.table[b];
    if (!hash_of_[id] && !cached_.count(h)) {
      cached_[h] = id;
      hash_of_[id] = h;
    }
    seq.block_hashes.push_back(h);
    parent = h;
  }
}

void KvCacheManager::release(SequenceBlocks& seq) {
  // Tail blocks first, so that a sequence's later blocks are evicted before its prefix.
  for (auto it = seq.table.rbegin(); it != seq.table.rend(); ++it) drop_ref(*it);
  seq.table.clear();
  seq.block_hashes.clear();
}

void KvCacheManager::drop_ref(BlockId id) {
  FATHOM_CHECK(ref_count_[id] > 0);  // double release is a programmer error
  if (--ref_count_[id] == 0) {
    free_pos_[id] = free_.insert(free_.end(), id);
    in_free_[id] = 1;
  }
}

void KvCacheManager::truncate(SequenceBlocks& seq, int64_t num_tokens) {
  const auto keep = static_cast<size_t>(blocks_for_tokens(num_tokens, block_size_));
  FATHOM_CHECK(seq.block_hashes.size() <= keep);
  while (seq.table.size() > keep) {
    drop_ref(seq.table.back());
    seq.table.pop_back();
  }
}

}  // namespace fathom::kv
