// Incremental detokenization: text is released as ids arrive, never a partial UTF-8 sequence,
// and the pieces always concatenate to Tokenizer::decode of all ids at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace fathom::tokenizer {

class StreamDecoder {
 public:
  /// `tokenizer` must outlive the decoder.
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens);

  /// Adds one id; returns the text it completes (often empty inside a multi-byte character).
  std::string add(int32_t id);
  /// Releases whatever is held back (an unfinished character becomes U+FFFD, as decode does).
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  std::string pending_bytes_;  // byte-level decoders: bytes of an unfinished character
  std::vector<int32_t> ids_;   // other decoders: ids since the last fully released point
  std::string emitted_;        // other decoders: text released for ids_
};

}  // namespace fathom::tokenizer
