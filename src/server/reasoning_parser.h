// DeepSeek-R1 style reasoning: the text up to "</think>" is reasoning_content, the rest is
// content; a leading "<think>" is dropped (R1 templates put it in the prompt, older
// checkpoints generate it). Streaming: markers split across pieces are held back.
//
// note: issue 3 gives reasoning parsers to src/tokenizer (helper-1); this server-side one
// stands in until that API exists.
#pragma once

#include <string>
#include <string_view>

namespace fathom::server {

inline constexpr std::string_view kThinkStart = "<think>";
inline constexpr std::string_view kThinkEnd = "</think>";

class ReasoningParser {
 public:
  struct Piece {
    std::string reasoning;
    std::string content;
  };
  /// Feeds the next piece of text; `last` releases whatever was held back.
  Piece feed(std::string_view text, bool last);

 private:
  enum class State { kStart, kReasoning, kContent };
  State state_ = State::kStart;
  std::string held_;
};

}  // namespace fathom::server
