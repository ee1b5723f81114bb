// Model output to an OpenAI-style message: reasoning (R1 <think> blocks) first, then DeepSeek
// tool calls in what remains. One streaming interface for the engine's output processor and a
// whole-output function; both give the same result on the same text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/reasoning_parser.h"
#include "tokenizer/tool_call_parser.h"

namespace fathom::tokenizer {

struct OutputParserOptions {
  bool parse_reasoning = true;
  ReasoningOptions reasoning;
  bool parse_tool_calls = true;
  std::string tool_call_id_prefix = "call_";
};

struct OutputDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty(); }
};

class OutputParser {
 public:
  explicit OutputParser(OutputParserOptions options = {});
  OutputDelta feed(std::string_view text);
  OutputDelta finish();

 private:
  void route(ReasoningDelta r, bool eof, OutputDelta& out);

  OutputParserOptions options_;
  ReasoningParser reasoning_;
  ToolCallParser tools_;
};

struct ParsedOutput {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;
};

ParsedOutput parse_output(std::string_view output, const OutputParserOptions& options = {});

}  // namespace fathom::tokenizer
