// Splits an upstream's text/event-stream bytes, arriving in arbitrary pieces, into the data of
// complete events. Comments (": ...") and other fields are skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fathom::gateway {

class SseParser {
 public:
  /// The most one event may hold (its data plus the line being read). An upstream that sends
  /// more without ending the event is broken or hostile: the parser stops (overflowed()).
  static constexpr size_t kMaxEventBytes = 16u << 20;

  /// Returns the data of every event completed by `bytes` (multi-line data joined with "\n").
  std::vector<std::string> feed(std::string_view bytes);
  /// An event grew past kMaxEventBytes: nothing more is read.
  bool overflowed() const { return overflowed_; }

 private:
  bool overflowed_ = false;
  std::string line_;
  std::string data_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
};

/// Whether a chat.completion.chunk's JSON has a non-empty "choices" array, without parsing it
/// (the first non-space character after `"choices":[` is not `]`). For events known not to
/// carry usage, whose "choices" key cannot appear inside a string value but as that key.
bool chunk_has_choices(std::string_view json);

}  // namespace fathom::gateway
