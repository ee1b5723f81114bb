#include "tokenizer/stream_decoder.h"

#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamDecoder::add(int32_t id) {
  if (tokenizer_->has_byte_level_decoder()) {
    const std::string* bytes = tokenizer_->token_bytes(id);
    if (bytes == nullptr || (skip_special_tokens_ && tokenizer_->is_special(id)))
      return std::string();
    pending_bytes_ += *bytes;
    const size_t complete = utf8_complete_prefix(pending_bytes_);
    std::string out = utf8_lossy(std::string_view(pending_bytes_).substr(0, complete));
    pending_bytes_.erase(0, complete);
    return out;
  }
  // Generic decoders (Metaspace, ByteFallback, ...): decode the window and release the new
  // suffix once it no longer ends in an unfinished character.
  ids_.push_back(id);
  const std::string text = tokenizer_->decode(ids_, skip_special_tokens_);
  if (text.size() <= emitted_.size() || text.compare(0, emitted_.size(), emitted_) != 0)
    return std::string();
  if (text.size() >= kReplacement.size() &&
      text.compare(text.size() - kReplacement.size(), kReplacement.size(), kReplacement) == 0) {
    return std::string();
  }
  std::string out = text.substr(emitted_.size());
  emitted_ = text;
  return out;
}

std::string StreamDecoder::finish() {
  if (tokenizer_->has_byte_level_decoder()) {
    std::string out = utf8_lossy(pending_bytes_);
    pending_bytes_.clear();
    return out;
  }
  const std::string text = tokenizer_->decode(ids_, skip_special_tokens_);
  std::string out = text.size() > emitted_.size() && text.compare(0, emitted_.size(), emitted_) == 0
                        ? text.substr(emitted_.size())
                        : std::string();
  ids_.clear();
  emitted_.clear();
  return out;
}

}  // namespace fathom::tokenizer
