// A context-free grammar over bytes, the form every output constraint compiles to (JSON
// schemas, regular expressions, choices). Rules are lists of alternatives; an alternative is a
// sequence of symbols, each a byte set or a reference to a rule. Built with GrammarBuilder,
// which checks the grammar can be matched (no undefined or left-recursive rules), then frozen
// into the flat form the Matcher walks. Immutable once built; share it between requests.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::grammar {

class ByteSet {
 public:
  static ByteSet of(uint8_t b) {
    ByteSet s;
    s.add(b);
    return s;
  }
  static ByteSet range(uint8_t lo, uint8_t hi) {
    ByteSet s;
    s.add_range(lo, hi);
    return s;
  }
  void add(uint8_t b) { bits_[b >> 6] |= uint64_t{1} << (b & 63); }
  void add_range(uint8_t lo, uint8_t hi) {
    for (int b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
  }
  ByteSet& operator|=(const ByteSet& o) {
    for (size_t i = 0; i < bits_.size(); ++i) bits_[i] |= o.bits_[i];
    return *this;
  }
  void remove(uint8_t b) { bits_[b >> 6] &= ~(uint64_t{1} << (b & 63)); }
  bool has(uint8_t b) const { return (bits_[b >> 6] >> (b & 63)) & 1; }
  bool empty() const { return (bits_[0] | bits_[1] | bits_[2] | bits_[3]) == 0; }
  bool operator==(const ByteSet&) const = default;

 private:
  std::array<uint64_t, 4> bits_{};
};

using RuleId = uint32_t;

struct Symbol {
  enum Kind : uint8_t { kBytes, kRule };
  Kind kind = kBytes;
  uint32_t index = 0;  ///< into the builder's byte sets, or a RuleId
};
using Sequence = std::vector<Symbol>;

/// The frozen grammar. Code is the concatenation of every alternative, each ending in kEnd;
/// a position in it is a parse position.
struct Grammar {
  static constexpr uint32_t kEnd = 0xFFFFFFFFu;
  static constexpr uint32_t kRuleBit = 0x80000000u;

  std::vector<uint32_t> code;  ///< kEnd, kRuleBit | rule, or a byte set index
  std::vector<ByteSet> sets;
  std::vector<std::vector<uint32_t>> starts;  ///< per rule: where each alternative begins
  std::vector<std::string> names;             ///< per rule, for messages and dumps
  RuleId root = 0;

  static bool is_rule(uint32_t c) { return c != kEnd && (c & kRuleBit); }
  /// The grammar in EBNF-like text (for tests and debugging).
  std::string to_string() const;
};

/// Most rules a grammar may have (bounded repetitions expand into rules).
inline constexpr size_t kMaxRules = 200000;

class GrammarBuilder {
 public:
  /// A rule with no alternatives yet (so rules can refer to each other before they are filled).
  RuleId new_rule(std::string name);
  void add(RuleId rule, Sequence alternative);
  /// A rule with the given alternatives.
  RuleId rule(std::string name, std::vector<Sequence> alternatives);

  Symbol bytes(const ByteSet& set);
  static Symbol ref(RuleId r) { return {Symbol::kRule, r}; }
  Sequence literal(std::string_view text);

  /// item{min,max} (max < 0: unbounded) as a rule. Fails when the bound needs too many rules.
  Result<RuleId> repeat(std::string name, const Sequence& item, int64_t min, int64_t max);
  /// item (separator item)* with min..max items in all (max < 0: unbounded), as a rule.
  Result<RuleId> separated(std::string name, const Sequence& item, const Sequence& separator,
                           int64_t min, int64_t max);

  size_t num_rules() const { return rules_.size(); }
  const std::string& name(RuleId r) const { return names_[r]; }

  /// Checks every rule has an alternative and none is left-recursive, and freezes.
  Result<Grammar> build(RuleId root) const;

 private:
  std::vector<std::vector<Sequence>> rules_;
  std::vector<std::string> names_;
  std::vector<ByteSet> sets_;
};

}  // namespace fathom::grammar
