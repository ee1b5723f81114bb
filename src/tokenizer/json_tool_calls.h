// Tool calls written as JSON, the form a forced tool_choice constrains the output to (the
// grammar guarantees the shape; this only reads it):
//   named function:  the arguments object itself, e.g. {"city": "Paris"}
//   "required":      [{"name": "get_weather", "parameters": {"city": "Paris"}}, ...]
// Streaming: text deltas in, tool-call starts and argument pieces out, as the bytes arrive (a
// call starts when its name string closes; its arguments stream as the parameters value is
// written). Output that strays from the shape (it cannot under the grammar) stops producing
// calls; nothing throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tool_call_parser.h"

namespace fathom::tokenizer {

class JsonToolCallStream {
 public:
  /// The output is the arguments of one call to `name`.
  static JsonToolCallStream named(std::string name, std::string id_prefix = "call_");
  /// The output is a list of {"name", "parameters"} objects.
  static JsonToolCallStream list(std::string id_prefix = "call_");

  std::vector<ToolCallDelta> feed(std::string_view text);

  /// Calls started so far, with the arguments read so far.
  const std::vector<ToolCall>& calls() const { return calls_; }

 private:
  JsonToolCallStream(bool named, std::string name, std::string id_prefix);
  void start_call(std::string name, std::vector<ToolCallDelta>& out);
  void add_args(std::string_view piece, std::vector<ToolCallDelta>& out);
  void on_value_byte(char c, std::vector<ToolCallDelta>& out);

  bool named_;
  std::string id_prefix_;
  std::vector<ToolCall> calls_;

  // A lexer over the list: depth of brackets, string state, and the key being read at the
  // object level (depth 2).
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  std::string string_;  // the string being read at depth 2 (a key or the name's value)
  bool expect_key_ = true;
  std::string key_;               // the current depth-2 key
  std::string name_;              // the current object's "name"
  bool awaiting_params_ = false;  // after "parameters":, before its value
  bool in_params_ = false;        // inside the "parameters" value
  size_t num_objects_started_ = 0;
  int params_depth_ = 0;      // depth at which that value started
  std::string pending_args_;  // parameters read before the name (not in our grammar's order)
  bool broken_ = false;
};

}  // namespace fathom::tokenizer
