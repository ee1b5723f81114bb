// DeepSeek tool calls in model output, turned into OpenAI tool_calls. Two layouts:
//   V3/R1:
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
//   V3.1:
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
// Streaming: text deltas in; content, tool-call starts and argument deltas out. Malformed tool
// markup becomes plain content, never an error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fathom::tokenizer {

struct ToolCallDelta {
  int index = 0;
  std::string id;         // set in the first delta of a call
  std::string name;       // set in the first delta of a call
  std::string arguments;  // a piece of the arguments JSON text
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it
};

/// The bookkeeping every tool-call reader shares: a new call (id = `id_prefix` + its index)
/// added to `calls`, with the delta announcing its id and name appended to `out`.
void start_tool_call(std::vector<ToolCall>& calls, const std::string& id_prefix, std::string name,
                     std::vector<ToolCallDelta>& out);
/// A piece of the last call's arguments, merged into `out`'s last delta when that is the same call.
void append_tool_call_arguments(std::vector<ToolCall>& calls, std::string_view piece,
                                std::vector<ToolCallDelta>& out);

struct ToolCallParseDelta {
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
};

struct ToolCallTags {
  std::string calls_begin = "<｜tool▁calls▁begin｜>";
  std::string calls_end = "<｜tool▁calls▁end｜>";
  std::string call_begin = "<｜tool▁call▁begin｜>";
  std::string call_end = "<｜tool▁call▁end｜>";
  std::string sep = "<｜tool▁sep｜>";
};

class ToolCallParser {
 public:
  /// Call ids are `id_prefix` + index ("call_0", "call_1", ...).
  explicit ToolCallParser(std::string id_prefix = "call_", ToolCallTags tags = {});

  ToolCallParseDelta feed(std::string_view text);
  ToolCallParseDelta finish();

  /// Calls completed so far (whole, with their full arguments).
  const std::vector<ToolCall>& calls() const { return calls_; }
  /// True if the output ended inside a call that had already started streaming.
  bool truncated() const { return truncated_; }

 private:
  enum class State { kText, kBetweenCalls, kHeader, kName, kArgs, kDone };
  void process(bool eof, ToolCallParseDelta& out);
  void fall_back_to_text(ToolCallParseDelta& out);
  void start_call(std::string name, ToolCallParseDelta& out);
  void emit_args(std::string_view piece, ToolCallParseDelta& out);

  std::string id_prefix_;
  ToolCallTags tags_;
  State state_ = State::kText;
  std::string buffer_;
  std::string section_raw_;  // tool markup consumed since the last emitted call (for fallback)
  bool fenced_ = false;      // V3 layout: arguments wrapped in ```json ... ```
  std::vector<ToolCall> calls_;
  bool truncated_ = false;
};

struct ParsedToolCalls {
  std::string content;
  std::vector<ToolCall> tool_calls;
};

/// Whole-output form. A truncated or malformed tool section leaves the text as content.
ParsedToolCalls parse_tool_calls(std::string_view output, const std::string& id_prefix = "call_");

}  // namespace fathom::tokenizer
