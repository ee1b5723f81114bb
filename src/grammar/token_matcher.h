// A grammar applied to a model's tokens: which tokens may come next (a bit mask over the
// vocabulary) and advancing by the sampled one. The mask is one preorder walk of the vocab's
// trie, stepping the grammar a byte at a time and skipping every rejected subtree; masks are
// cached per grammar state, since inside a string or a repetition the state recurs.
//
// One TokenMatcher per sequence (not thread-safe); the Grammar and TokenVocab are shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar/token_vocab.h"

namespace fathom::grammar {

/// What a request carries to the engine: the compiled grammar and the vocabulary to apply it to.
struct TokenConstraint {
  std::shared_ptr<const Grammar> grammar;
  std::shared_ptr<const TokenVocab> vocab;
};

class TokenMatcher {
 public:
  explicit TokenMatcher(const TokenConstraint& c);

  /// Bit i set: token i may come next. Ids at or past the vocab size are never allowed.
  const std::vector<uint64_t>& allowed();
  /// Advances by token id; false (state unchanged) when the grammar rejects it.
  bool accept_token(int32_t id);
  bool can_end() const { return m_.can_end(); }
  /// Nothing may follow: the output is complete.
  bool must_end() const { return m_.must_end(); }
  /// The mask for the current state, computed afresh (no cache): for benchmarks.
  void compute(std::vector<uint64_t>& mask);

 private:
  struct StateHash {
    size_t operator()(const Matcher::State& s) const;
  };
  std::shared_ptr<const TokenVocab> vocab_;
  Matcher m_;
  std::unordered_map<Matcher::State, std::vector<uint64_t>, StateHash> cache_;
  std::vector<Matcher::State> depth_states_;
};

/// logits[i] = -inf for every i < n whose bit is clear.
void apply_token_mask(const std::vector<uint64_t>& mask, float* logits, int64_t n);

}  // namespace fathom::grammar
