// DeepSeek V3 / R1 tool calls in generated text:
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>
//   ...<｜tool▁calls▁end｜>
// Text before the first marker is content; the calls are parsed when generation ends.
//
// note: issue 3 gives tool-call parsers to src/tokenizer (helper-1); this server-side one
// stands in until that API exists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fathom::server {

inline constexpr std::string_view kToolCallsBegin = "<｜tool▁calls▁begin｜>";
inline constexpr std::string_view kToolCallsEnd = "<｜tool▁calls▁end｜>";
inline constexpr std::string_view kToolCallBegin = "<｜tool▁call▁begin｜>";
inline constexpr std::string_view kToolCallEnd = "<｜tool▁call▁end｜>";
inline constexpr std::string_view kToolSep = "<｜tool▁sep｜>";

struct ToolCall {
  std::string type = "function";
  std::string name;
  std::string arguments;  ///< JSON text as generated
};

/// Parses the calls in `text` (starting at kToolCallsBegin). Empty when none is well formed.
std::vector<ToolCall> parse_deepseek_tool_calls(std::string_view text);

class ToolCallStream {
 public:
  /// Returns the content to show now; text from kToolCallsBegin on is kept for finish().
  std::string feed(std::string_view text, bool last);
  /// The calls found; when the tool text did not parse, it is returned as content instead.
  std::vector<ToolCall> finish(std::string& content_out);
  bool saw_calls() const { return in_calls_; }

 private:
  bool in_calls_ = false;
  std::string held_;
  std::string tool_text_;
};

}  // namespace fathom::server
