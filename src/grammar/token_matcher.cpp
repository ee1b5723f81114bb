#include "grammar/token_matcher.h"

#include <limits>

namespace fathom::grammar {
namespace {

constexpr size_t kMaxCachedMasks = 64;

void set_bit(std::vector<uint64_t>& mask, int32_t id) {
  mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
}

}  // namespace

size_t TokenMatcher::StateHash::operator()(const Matcher::State& s) const {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t v : s) h = (h ^ v) * 1099511628211ull;
  return static_cast<size_t>(h);
}

TokenMatcher::TokenMatcher(const TokenConstraint& c) : vocab_(c.vocab), m_(c.grammar) {}

const std::vector<uint64_t>& TokenMatcher::allowed() {
  auto it = cache_.find(m_.state());
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedMasks) cache_.clear();
  std::vector<uint64_t> mask;
  compute(mask);
  return cache_.emplace(m_.state(), std::move(mask)).first->second;
}

void TokenMatcher::compute(std::vector<uint64_t>& mask) {
  mask.assign((static_cast<size_t>(vocab_->size()) + 63) / 64, 0);
  const auto& trie = vocab_->trie();
  const auto& tokens = vocab_->trie_tokens();
  if (depth_states_.empty()) depth_states_.resize(1);
  depth_states_[0] = m_.state();
  for (size_t i = 0; i < trie.size();) {
    const TokenVocab::TrieNode& n = trie[i];
    if (n.depth >= depth_states_.size()) depth_states_.resize(n.depth + 1);
    Matcher::State& here = depth_states_[n.depth];
    m_.step(depth_states_[n.depth - 1], n.byte, here);
    if (here.empty()) {
      i = n.skip;
      continue;
    }
    for (uint32_t k = 0; k < n.num_tokens; ++k) set_bit(mask, tokens[n.first_token + k]);
    ++i;
  }
  if (m_.can_end())
    for (int32_t id : vocab_->end_ids())
      if (id >= 0 && id < vocab_->size()) set_bit(mask, id);
}

bool TokenMatcher::accept_token(int32_t id) {
  if (vocab_->is_end(id)) return m_.can_end();
  const std::string* b = vocab_->bytes(id);
  return b != nullptr && m_.accept(*b);
}

void apply_token_mask(const std::vector<uint64_t>& mask, float* logits, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    const size_t w = static_cast<size_t>(i) >> 6;
    if (w >= mask.size() || !((mask[w] >> (i & 63)) & 1)) logits[i] = ninf;
  }
}

}  // namespace fathom::grammar
