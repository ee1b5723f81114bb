#include "tokenizer/output_parser.h"

namespace fathom::tokenizer {

OutputParser::OutputParser(OutputParserOptions options)
    : options_(std::move(options)),
      reasoning_(options_.reasoning),
      tools_(options_.tool_call_id_prefix) {}

void OutputParser::route(ReasoningDelta r, bool eof, OutputDelta& out) {
  out.reasoning += r.reasoning;
  if (!options_.parse_tool_calls) {
    out.content += r.content;
    return;
  }
  ToolCallParseDelta t = tools_.feed(r.content);
  if (eof) {
    ToolCallParseDelta tail = tools_.finish();
    t.content += tail.content;
    for (ToolCallDelta& d : tail.tool_calls) t.tool_calls.push_back(std::move(d));
  }
  out.content += t.content;
  for (ToolCallDelta& d : t.tool_calls) out.tool_calls.push_back(std::move(d));
}

OutputDelta OutputParser::feed(std::string_view text) {
  OutputDelta out;
  ReasoningDelta r;
  if (options_.parse_reasoning) {
    r = reasoning_.feed(text);
  } else {
    r.content.assign(text);
  }
  route(std::move(r), false, out);
  return out;
}

OutputDelta OutputParser::finish() {
  OutputDelta out;
  ReasoningDelta r;
  if (options_.parse_reasoning) r = reasoning_.finish();
  route(std::move(r), true, out);
  return out;
}

ParsedOutput parse_output(std::string_view output, const OutputParserOptions& options) {
  ParsedOutput result;
  ReasoningDelta r;
  if (options.parse_reasoning) {
    r = parse_reasoning(output, options.reasoning);
  } else {
    r.content.assign(output);
  }
  result.reasoning = std::move(r.reasoning);
  if (options.parse_tool_calls) {
    ParsedToolCalls t = parse_tool_calls(r.content, options.tool_call_id_prefix);
    result.content = std::move(t.content);
    result.tool_calls = std::move(t.tool_calls);
  } else {
    result.content = std::move(r.content);
  }
  return result;
}

}  // namespace fathom::tokenizer
