// Regular expressions (the ECMAScript subset JSON Schema patterns and vLLM's guided_regex use)
// compiled into grammar rules. The whole text must match: a pattern is anchored at both ends,
// which is what a generator needs (a fully matching string also satisfies an unanchored
// search). Supported: literals and escapes, classes ([a-z], [^...], \d \w \s and negations),
// '.', groups ((...), (?:...)), alternation, and the quantifiers * + ? {n} {n,} {n,m} (lazy
// forms allowed). Backreferences, lookaround, word boundaries and \p{...} are refused with a
// message naming them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "grammar/char_class.h"
#include "grammar/grammar.h"

namespace fathom::grammar {

/// A rule of `b` matching exactly the strings `pattern` matches, encoded for ctx.
Result<RuleId> compile_regex(GrammarBuilder& b, std::string_view pattern, TextContext ctx,
                             const std::string& name);

/// Output matching `pattern` (vLLM guided_regex).
Result<Grammar> regex_grammar(std::string_view pattern);
/// Output equal to one of `choices` (vLLM guided_choice).
Result<Grammar> choice_grammar(const std::vector<std::string>& choices);

}  // namespace fathom::grammar
