// Added tokens (tokenizer.json "added_tokens"): special and non-special tokens that are cut out
// of the text before the normalizer and the model see it, with their lstrip / rstrip /
// single_word / normalized flags. Matching is leftmost-longest, like Hugging Face's
// Aho-Corasick matcher.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

class Normalizer;

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

/// A piece of text between added tokens (token_id < 0), or one added token.
struct AddedSplit {
  std::string_view text;  // the matched text (with stripped whitespace) for a token
  int32_t token_id = -1;
};

/// Finds added tokens in text. Build one for the non-normalized tokens (matched on raw
/// text) and one for the normalized ones (matched after the normalizer).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  /// `patterns[i]` is the text matched for `tokens[i]` (the normalized content for
  /// normalized tokens).
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  bool empty() const { return tokens_.empty(); }

  /// Splits `text` into pieces and tokens, in order. Pieces may be empty only if text is.
  void split(std::string_view text, std::vector<AddedSplit>& out) const;

 private:
  struct Node {
    int32_t first_child = -1;
    int32_t next_sibling = -1;
    int32_t token_idx = -1;  // index into tokens_ when a pattern ends here
    uint8_t byte = 0;
  };
  int32_t child(int32_t node, uint8_t b) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> trie_;  // trie_[0] is the root
  std::array<bool, 256> first_byte_{};
};

/// Parses tokenizer.json "added_tokens".
Result<std::vector<AddedToken>> parse_added_tokens(const nlohmann::json& list);

}  // namespace fathom::tokenizer
