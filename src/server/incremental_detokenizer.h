// Token ids in, text out, one step at a time, such that the pieces concatenated equal
// Tokenizer::decode(all ids) exactly. Bytes that may still become a character wait for the
// next token; flush() ends the stream (an incomplete tail becomes U+FFFD, as decode does).
//
// note: helper-1's tokenizer::StreamDecoder is meant to do this job; until it lands this
// class uses the Tokenizer's public API (token_bytes for byte-level decoders, whole-sequence
// decode otherwise), and is tested against Tokenizer::decode.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace fathom::server {

class IncrementalDetokenizer {
 public:
  /// keep_special: special tokens to keep as text even when skip_special_tokens (markers the
  /// reasoning and tool-call parsers look for).
  IncrementalDetokenizer(const tokenizer::Tokenizer& tok, bool skip_special_tokens,
                         std::set<int32_t> keep_special = {});

  /// The text that became final with this token (may be empty).
  std::string add(int32_t token_id);
  /// What is left at the end of the stream.
  std::string flush();

 private:
  bool skipped(int32_t id) const;

  const tokenizer::Tokenizer& tok_;
  bool skip_special_;
  std::set<int32_t> keep_special_;
  bool byte_level_;
  std::string pending_bytes_;  // byte-level: bytes not yet emitted
  std::vector<int32_t> ids_;   // generic: every kept id so far
  size_t emitted_chars_ = 0;   // generic: bytes of decode(ids_) already emitted
};

}  // namespace fathom::server
