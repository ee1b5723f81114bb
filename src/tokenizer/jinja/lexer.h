// Jinja lexer: splits a template into text and tag tokens, applying transformers' whitespace
// settings (trim_blocks, lstrip_blocks) and the {%- -%} {{- -}} {#- -#} {%+ markers, and
// tokenizes the expressions inside tags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fathom::tokenizer::jinja {

enum class TokenKind {
  kText,        // literal template text
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // value: the unescaped string
  kInt,
  kFloat,
  kOp,  // operators and punctuation: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  kEof,
};

struct Token {
  TokenKind kind;
  std::string value;
  int line;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

/// Errors carry "line N: ...".
Result<std::vector<Token>> lex(std::string_view source, const LexOptions& options);

}  // namespace fathom::tokenizer::jinja
