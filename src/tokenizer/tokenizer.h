// A Hugging Face tokenizer read from a model folder's tokenizer.json + tokenizer_config.json:
// added/special tokens, normalizer, pre-tokenizer, BPE model, post-processor and decoder,
// plus transformers' BOS/EOS rule (add_bos_token / add_eos_token). encode/decode give the ids
// and text transformers gives; see tests/tokenizer for the parity suites.
//
// Thread-safety: a loaded Tokenizer is immutable; encode/decode may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/tokenizer_config.h"

namespace fathom::tokenizer {

class Tokenizer {
 public:
  /// Reads `model_dir`/tokenizer.json and `model_dir`/tokenizer_config.json (optional), and
  /// `model_dir`/chat_template.jinja when the config has no chat_template.
  static Result<Tokenizer> load(const std::string& model_dir);
  /// Builds from the two files' contents (`config_json` may be empty).
  static Result<Tokenizer> from_json(std::string_view tokenizer_json, std::string_view config_json);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// Text to ids. Invalid UTF-8 is replaced by U+FFFD first (as Python/JS decoding does).
  /// add_special_tokens: add BOS/EOS the way transformers does for this model.
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens) const;

  /// Ids to text (lossy UTF-8). Unknown ids are ignored, as Hugging Face does.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  bool is_special(int32_t id) const;
  /// One past the largest id (model vocab and added tokens), like len(tokenizer).
  int32_t vocab_size() const;
  /// The token as written in tokenizer.json (byte-level form for BPE tokens); "" if unknown.
  std::string token_text(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;

  /// The bytes id contributes to decoded text when the decoder is a plain ByteLevel one
  /// (nullopt otherwise, or for unknown ids). Used by StreamDecoder.
  const std::string* token_bytes(int32_t id) const;
  bool has_byte_level_decoder() const;

  const TokenizerConfig& config() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

}  // namespace fathom::tokenizer
