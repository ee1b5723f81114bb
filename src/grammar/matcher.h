// Matches bytes against a Grammar, many parses at once (the grammar may be ambiguous while a
// prefix is read). A parse is a stack of positions; stacks are hash-consed into an arena, so a
// state is a sorted list of small ids and equal states compare equal. Each (stack, byte)
// transition is computed once and remembered, which makes the token-mask walk mostly lookups.
//
// Not thread-safe: one Matcher per sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"

namespace fathom::grammar {

class Matcher {
 public:
  using State = std::vector<uint32_t>;  ///< sorted stack ids; kAccept is the finished parse
  static constexpr uint32_t kAccept = 0;

  explicit Matcher(std::shared_ptr<const Grammar> g);

  const State& state() const { return state_; }
  /// Reads every byte of `bytes`; on a byte the grammar rejects, returns false and keeps the
  /// state it had.
  bool accept(std::string_view bytes);
  /// The output may end here.
  bool can_end() const { return !state_.empty() && state_.front() == kAccept; }
  /// The output must end here: no byte can follow.
  bool must_end() const { return state_.size() == 1 && state_.front() == kAccept; }

  /// `to` = the state after `from` reads b (empty: rejected).
  void step(const State& from, uint8_t b, State& to);
  /// The same for a single stack id, without copying (valid until the next call).
  const std::vector<uint32_t>& transition(uint32_t id, uint8_t b);

  const Grammar& grammar() const { return *g_; }

 private:
  struct Node {
    uint32_t pos;     ///< into Grammar::code
    uint32_t parent;  ///< stack below, or kNone
  };
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  uint32_t node(uint32_t pos, uint32_t parent);
  /// Appends the stacks `id` resolves to: each with a byte set on top, or kAccept.
  void expand(uint32_t id, std::vector<uint32_t>& out);

  std::shared_ptr<const Grammar> g_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, uint32_t> node_index_;
  std::unordered_map<uint64_t, uint32_t> transition_index_;
  std::vector<std::vector<uint32_t>> transitions_;
  State state_;
  State scratch_;
};

}  // namespace fathom::grammar
