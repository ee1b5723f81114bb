// A model's vocabulary as the grammar sees it: the bytes each token adds to the output, in a
// trie laid out in preorder (each node knows where its subtree ends), so a token-mask walk is
// one forward scan that skips every subtree the grammar rejects. Built once per model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fathom::grammar {

class TokenVocab {
 public:
  struct TrieNode {
    uint8_t byte;
    uint16_t depth;        ///< 1 for the first byte of a token
    uint32_t skip;         ///< index of the first node after this subtree
    uint32_t first_token;  ///< into trie_tokens(): the tokens whose bytes end here
    uint32_t num_tokens;
  };

  /// bytes[id]: what token id adds to the text; nullopt or "" for tokens a grammar never allows
  /// (special tokens). end_ids end the output; they are allowed where the grammar may end.
  TokenVocab(const std::vector<std::optional<std::string>>& bytes, std::vector<int32_t> end_ids);

  int32_t size() const { return size_; }
  const std::string* bytes(int32_t id) const;
  const std::vector<int32_t>& end_ids() const { return end_ids_; }
  bool is_end(int32_t id) const;
  const std::vector<TrieNode>& trie() const { return trie_; }
  const std::vector<int32_t>& trie_tokens() const { return trie_tokens_; }

 private:
  int32_t size_ = 0;
  std::vector<std::string> bytes_;
  std::vector<char> usable_;
  std::vector<int32_t> end_ids_;
  std::vector<TrieNode> trie_;
  std::vector<int32_t> trie_tokens_;
};

}  // namespace fathom::grammar
