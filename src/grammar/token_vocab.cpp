#include "grammar/token_vocab.h"

#include <algorithm>
#include <numeric>

namespace fathom::grammar {

TokenVocab::TokenVocab(const std::vector<std::optional<std::string>>& bytes,
                       std::vector<int32_t> end_ids)
    : size_(static_cast<int32_t>(bytes.size())), end_ids_(std::move(end_ids)) {
  bytes_.resize(bytes.size());
  usable_.resize(bytes.size(), 0);
  std::vector<int32_t> order;
  for (size_t id = 0; id < bytes.size(); ++id) {
    if (!bytes[id] || bytes[id]->empty() || bytes[id]->size() > 0xFFFF) continue;
    bytes_[id] = *bytes[id];
    usable_[id] = 1;
    order.push_back(static_cast<int32_t>(id));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return bytes_[a] < bytes_[b] || (bytes_[a] == bytes_[b] && a < b);
  });

  std::vector<uint32_t> path;  // trie nodes on the current prefix; path[d] is at depth d + 1
  const std::string* prev = nullptr;
  for (int32_t id : order) {
    const std::string& s = bytes_[id];
    size_t common = 0;
    if (prev) {
      const size_t limit = std::min(prev->size(), s.size());
      while (common < limit && (*prev)[common] == s[common]) ++common;
    }
    while (path.size() > common) {
      trie_[path.back()].skip = static_cast<uint32_t>(trie_.size());
      path.pop_back();
    }
    for (size_t d = common; d < s.size(); ++d) {
      path.push_back(static_cast<uint32_t>(trie_.size()));
      trie_.push_back({static_cast<uint8_t>(s[d]), static_cast<uint16_t>(d + 1), 0,
                       static_cast<uint32_t>(trie_tokens_.size()), 0});
    }
    TrieNode& leaf = trie_[path.back()];
    if (leaf.num_tokens == 0) leaf.first_token = static_cast<uint32_t>(trie_tokens_.size());
    trie_tokens_.push_back(id);
    ++leaf.num_tokens;
    prev = &s;
  }
  for (uint32_t n : path) trie_[n].skip = static_cast<uint32_t>(trie_.size());
}

const std::string* TokenVocab::bytes(int32_t id) const {
  if (id < 0 || id >= size_ || !usable_[static_cast<size_t>(id)]) return nullptr;
  return &bytes_[static_cast<size_t>(id)];
}

bool TokenVocab::is_end(int32_t id) const {
  return std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end();
}

}  // namespace fathom::grammar
