#include "server/incremental_detokenizer.h"

#include "tokenizer/unicode.h"

namespace fathom::server {

IncrementalDetokenizer::IncrementalDetokenizer(const tokenizer::Tokenizer& tok, bool skip_special_tokens,
                                               std::set<int32_t> keep_special)
    : tok_(tok),
      skip_special_(skip_special_tokens),
      keep_special_(std::move(keep_special)),
      byte_level_(tok.has_byte_level_decoder()) {}

bool IncrementalDetokenizer::skipped(int32_t id) const {
  return skip_special_ && tok_.is_special(id) && !keep_special_.count(id);
}

std::string IncrementalDetokenizer::add(int32_t token_id) {
  if (skipped(token_id)) return {};
  if (byte_level_) {
    const std::string* bytes = tok_.token_bytes(token_id);
    if (!bytes) return {};
    pending_bytes_ += *bytes;
    // Invalid bytes decode locally (maximal subparts), so a prefix that does not end inside a
    // completable character decodes the same alone as inside the whole text.
    const size_t n = tokenizer::utf8_complete_prefix(pending_bytes_);
    std::string out = tokenizer::utf8_lossy(std::string_view(pending_bytes_).substr(0, n));
    pending_bytes_.erase(0, n);
    return out;
  }
  // Generic decoders (Metaspace, ByteFallback, ...): decode the whole sequence and emit what
  // grew, holding back a trailing U+FFFD that a later token may still complete.
  ids_.push_back(token_id);
  const std::string text = tok_.decode(ids_, false);
  size_t stable = text.size();
  static const std::string kReplacement = "\xEF\xBF\xBD";
  while (stable >= kReplacement.size() && text.compare(stable - kReplacement.size(), kReplacement.size(), kReplacement) == 0)
    stable -= kReplacement.size();
  if (stable <= emitted_chars_) return {};
  std::string out = text.substr(emitted_chars_, stable - emitted_chars_);
  emitted_chars_ = stable;
  return out;
}

std::string IncrementalDetokenizer::flush() {
  if (byte_level_) {
    std::string out = tokenizer::utf8_lossy(pending_bytes_);
    pending_bytes_.clear();
    return out;
  }
  const std::string text = tok_.decode(ids_, false);
  std::string out = text.size() > emitted_chars_ ? text.substr(emitted_chars_) : std::string();
  emitted_chars_ = text.size();
  return out;
}

}  // namespace fathom::server
