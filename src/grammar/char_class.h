// Sets of Unicode code points and how they become grammar symbols: UTF-8 byte-range
// sequences for raw text, or the characters' JSON string encodings (quote, backslash and
// control characters escaped) inside a JSON string.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "grammar/grammar.h"

namespace fathom::grammar {

enum class TextContext {
  kRaw,         ///< the characters themselves, as UTF-8
  kJsonString,  ///< inside a JSON string literal: each character as JSON writes it
};

class CharClass {
 public:
  static constexpr uint32_t kMaxCodePoint = 0x10FFFF;

  static CharClass of(uint32_t c) { return range(c, c); }
  static CharClass range(uint32_t lo, uint32_t hi) {
    CharClass s;
    s.add(lo, hi);
    return s;
  }
  /// Every scalar value (surrogates excluded).
  static CharClass any();

  void add(uint32_t lo, uint32_t hi);
  void add(const CharClass& o);
  /// Every scalar value not in the set.
  CharClass complement() const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<std::pair<uint32_t, uint32_t>>& ranges() const { return ranges_; }

 private:
  void normalize();
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;  ///< sorted, disjoint, not adjacent
};

/// One character of `set`, encoded for `ctx`: a single symbol when one byte set covers it, else
/// a reference to a new rule with one alternative per encoding shape.
Sequence char_symbols(GrammarBuilder& b, const CharClass& set, TextContext ctx,
                      const std::string& name);

/// `c` encoded for ctx (UTF-8, or its JSON string form).
std::string encode_char(uint32_t c, TextContext ctx);

}  // namespace fathom::grammar
