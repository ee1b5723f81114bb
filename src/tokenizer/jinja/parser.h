// Jinja parser: tokens to a syntax tree. Supports the statements chat templates use (if/elif/
// else, for/else with loop filters, set (also block set and namespace attributes), macro,
// filter blocks, break/continue, generation) and Jinja's full expression grammar.
#pragma once

#include <vector>

#include "base/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace fathom::tokenizer::jinja {

/// Errors carry "line N: ...".
Result<Body> parse(const std::vector<Token>& tokens);

}  // namespace fathom::tokenizer::jinja
