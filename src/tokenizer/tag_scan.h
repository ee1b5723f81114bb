// Helpers for scanning streamed text for tags that may be split across deltas.
#pragma once

#include <algorithm>
#include <string_view>

namespace fathom::tokenizer {

/// Length of the longest suffix of `text` that is a proper prefix of `tag` (text that must be
/// held back because the next delta may complete the tag).
inline size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  const size_t max_len = std::min(text.size(), tag.size() - 1);
  for (size_t len = max_len; len > 0; --len) {
    if (text.substr(text.size() - len) == tag.substr(0, len)) return len;
  }
  return 0;
}

}  // namespace fathom::tokenizer
