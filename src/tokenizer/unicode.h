// UTF-8 helpers shared by the tokenizer layer: decoding with the WHATWG / Python / Rust
// "maximal subpart" replacement rule, so invalid input becomes U+FFFD exactly where the
// Hugging Face stack (Python str, JS TextDecoder, Rust from_utf8_lossy) puts it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fathom::tokenizer {

inline constexpr char32_t kReplacementChar = 0xFFFD;

struct Utf8Char {
  char32_t code_point = 0;  // kReplacementChar when !valid
  int num_bytes = 1;        // bytes consumed: the char, or the maximal invalid subpart (>= 1)
  bool valid = true;
};

/// Decodes the character starting at `text[pos]` (pos < text.size()).
Utf8Char decode_utf8(std::string_view text, size_t pos);

/// Appends the UTF-8 encoding of `cp` (cp <= 0x10FFFF, not a surrogate) to `out`.
void append_utf8(std::string& out, char32_t cp);

bool is_valid_utf8(std::string_view text);

/// Replaces each maximal invalid subpart with U+FFFD (Rust String::from_utf8_lossy).
std::string utf8_lossy(std::string_view bytes);

/// Length of the longest prefix of `bytes` that does not end inside a character that could
/// still be completed by more bytes. Invalid bytes count as complete (they decode to U+FFFD).
size_t utf8_complete_prefix(std::string_view bytes);

/// Unicode White_Space (what Rust's char::is_whitespace tests).
bool is_unicode_whitespace(char32_t cp);

}  // namespace fathom::tokenizer
