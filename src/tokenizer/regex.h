// A compiled Unicode regular expression (PCRE2 with JIT), written in the Oniguruma dialect
// tokenizer.json files use. Immutable after compile and safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer {

class Regex {
 public:
  /// Compiles `pattern` (UTF-8). `\s` and `\S` take Oniguruma's (= Rust's) Unicode meaning.
  static Result<Regex> compile(std::string_view pattern);
  /// A pattern that matches `literal` exactly.
  static Result<Regex> compile_literal(std::string_view literal);

  /// Byte ranges [begin, end) of the non-overlapping matches in `text` (valid UTF-8),
  /// leftmost first. Empty matches are skipped.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

/// Rewrites Oniguruma `\s` / `\S` into explicit PCRE2 classes (exposed for tests).
std::string translate_onig_pattern(std::string_view pattern);

}  // namespace fathom::tokenizer
