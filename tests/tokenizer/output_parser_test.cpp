// Reasoning and DeepSeek tool-call parsing: whole outputs, every way of splitting them into
// stream deltas, tags split across deltas, and malformed markup (plain content, not errors).
#include "tokenizer/output_parser.h"

#include <gtest/gtest.h>

#include <map>

namespace fathom::tokenizer {
namespace {

const std::string kCallsBegin = "<｜tool▁calls▁begin｜>";
const std::string kCallsEnd = "<｜tool▁calls▁end｜>";
const std::string kCallBegin = "<｜tool▁call▁begin｜>";
const std::string kCallEnd = "<｜tool▁call▁end｜>";
const std::string kSep = "<｜tool▁sep｜>";

std::string v3_call(const std::string& name, const std::string& args) {
  return kCallBegin + "function" + kSep + name + "\n```json\n" + args + "\n```" + kCallEnd;
}

// Feeds `text` in pieces cut at `cuts` (byte offsets) and folds the deltas into one result.
ParsedOutput stream(const std::string& text, const std::vector<size_t>& cuts,
                    const OutputParserOptions& options) {
  OutputParser parser(options);
  ParsedOutput out;
  std::map<int, ToolCall> calls;
  auto fold = [&](const OutputDelta& d) {
    out.content += d.content;
    out.reasoning += d.reasoning;
    for (const ToolCallDelta& t : d.tool_calls) {
      ToolCall& c = calls[t.index];
      if (!t.id.empty()) c.id = t.id;
      if (!t.name.empty()) c.name = t.name;
      c.arguments += t.arguments;
    }
  };
  size_t last = 0;
  for (size_t cut : cuts) {
    fold(parser.feed(std::string_view(text).substr(last, cut - last)));
    last = cut;
  }
  fold(parser.feed(std::string_view(text).substr(last)));
  fold(parser.finish());
  for (auto& [i, c] : calls) out.tool_calls.push_back(c);
  return out;
}

void expect_same(const ParsedOutput& a, const ParsedOutput& b, const std::string& where) {
  EXPECT_EQ(a.content, b.content) << where;
  EXPECT_EQ(a.reasoning, b.reasoning) << where;
  ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size()) << where;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    EXPECT_EQ(a.tool_calls[i].id, b.tool_calls[i].id) << where;
    EXPECT_EQ(a.tool_calls[i].name, b.tool_calls[i].name) << where;
    EXPECT_EQ(a.tool_calls[i].arguments, b.tool_calls[i].arguments) << where;
  }
}

// Streaming must agree with the whole-output parse for every single cut and byte by byte.
void expect_stream_matches_whole(const std::string& text, const OutputParserOptions& options = {}) {
  const ParsedOutput whole = parse_output(text, options);
  for (size_t cut = 0; cut <= text.size(); ++cut)
    expect_same(stream(text, {cut}, options), whole, "cut " + std::to_string(cut));
  std::vector<size_t> every;
  for (size_t i = 1; i < text.size(); ++i) every.push_back(i);
  expect_same(stream(text, every, options), whole, "byte by byte");
}

TEST(ReasoningParserTest, SplitsThinkBlockFromAnswer) {
  const ParsedOutput out = parse_output("<think>\nStep 1.\n</think>\n\nThe answer is 4.");
  EXPECT_EQ(out.reasoning, "\nStep 1.\n");
  EXPECT_EQ(out.content, "\n\nThe answer is 4.");
  EXPECT_TRUE(out.tool_calls.empty());
}

TEST(ReasoningParserTest, PromptEndingInThinkMeansOutputStartsInReasoning) {
  EXPECT_TRUE(prompt_opens_reasoning("<｜User｜>hi<｜Assistant｜><think>\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<｜User｜>hi<｜Assistant｜>"));
  OutputParserOptions options;
  options.reasoning.start_in_reasoning = true;
  const ParsedOutput out = parse_output("Let me think.</think>Four.", options);
  EXPECT_EQ(out.reasoning, "Let me think.");
  EXPECT_EQ(out.content, "Four.");
  expect_stream_matches_whole("Let me think.</think>Four.", options);
  // Without the closing tag everything is still reasoning.
  EXPECT_EQ(parse_output("still thinking", options).reasoning, "still thinking");
  EXPECT_EQ(parse_output("still thinking", options).content, "");
}

TEST(ReasoningParserTest, NoThinkTagIsPlainContent) {
  const ParsedOutput out = parse_output("Just an answer with </think> inside? no: <think> later");
  EXPECT_EQ(out.reasoning, "");
  EXPECT_EQ(out.content, "Just an answer with </think> inside? no: <think> later");
  expect_stream_matches_whole("Just an answer with </think> inside? no: <think> later");
}

TEST(ReasoningParserTest, TagsSplitAcrossDeltas) {
  expect_stream_matches_whole("<think>a<b</thin</think>c</think>d");
  expect_stream_matches_whole("  <think>x</think>");
  expect_stream_matches_whole("<thin");
  expect_stream_matches_whole("<think>unterminated </thi");
}

TEST(ToolCallParserTest, ParsesDeepSeekV3Calls) {
  const std::string text = "Let me check." + kCallsBegin +
                           v3_call("get_weather", "{\"city\": \"Beijing\"}") + "\n" +
                           v3_call("get_time", "{}") + kCallsEnd;
  const ParsedOutput out = parse_output(text);
  EXPECT_EQ(out.content, "Let me check.");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].id, "call_0");
  EXPECT_EQ(out.tool_calls[0].name, "get_weather");
  EXPECT_EQ(out.tool_calls[0].arguments, "{\"city\": \"Beijing\"}");
  EXPECT_EQ(out.tool_calls[1].id, "call_1");
  EXPECT_EQ(out.tool_calls[1].name, "get_time");
  EXPECT_EQ(out.tool_calls[1].arguments, "{}");
  expect_stream_matches_whole(text);
}

TEST(ToolCallParserTest, ParsesV31LayoutAndReasoningTogether) {
  const std::string text = "<think>need weather</think>" + kCallsBegin + kCallBegin +
                           "get_weather" + kSep + "{\"city\": \"Paris\"}" + kCallEnd + kCallsEnd;
  const ParsedOutput out = parse_output(text);
  EXPECT_EQ(out.reasoning, "need weather");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].name, "get_weather");
  EXPECT_EQ(out.tool_calls[0].arguments, "{\"city\": \"Paris\"}");
  expect_stream_matches_whole(text);
}

TEST(ToolCallParserTest, ArgumentsStreamBeforeTheCallEnds) {
  OutputParser parser;
  OutputDelta d1 =
      parser.feed(kCallsBegin + kCallBegin + "function" + kSep + "f\n```json\n{\"a\": ");
  ASSERT_EQ(d1.tool_calls.size(), 1u);
  EXPECT_EQ(d1.tool_calls[0].name, "f");
  EXPECT_EQ(d1.tool_calls[0].arguments, "{\"a\":");  // trailing space may precede the fence
  OutputDelta d2 = parser.feed("1}\n``");            // the fence may be the end: held back
  ASSERT_EQ(d2.tool_calls.size(), 1u);
  EXPECT_EQ(d2.tool_calls[0].arguments, " 1}");
  OutputDelta d3 = parser.feed("`" + kCallEnd + kCallsEnd + " done");
  EXPECT_TRUE(d3.tool_calls.empty() || d3.tool_calls[0].arguments.empty());
  EXPECT_EQ(d3.content, " done");
}

TEST(ToolCallParserTest, MalformedMarkupIsPlainContent) {
  const std::vector<std::string> malformed = {
      kCallsBegin + "not a call" + kCallsEnd,                                   // no call_begin
      kCallsBegin + kCallBegin + "function no separator here\n" + kCallEnd,     // no sep
      kCallsBegin + kCallBegin + "function" + kSep + "f\nno fence" + kCallEnd,  // no ```json
      kCallsBegin + kCallsEnd,                                                  // empty section
      "text " + kCallsBegin,                                          // truncated before a call
      kCallsBegin + kCallBegin + "func",                              // truncated header
      kCallsBegin + kCallBegin + kSep + "{}" + kCallEnd + kCallsEnd,  // empty name
  };
  for (const std::string& text : malformed) {
    const ParsedOutput out = parse_output(text);
    EXPECT_TRUE(out.tool_calls.empty()) << text;
    EXPECT_EQ(out.content, text);
    expect_stream_matches_whole(text);
  }
}

TEST(ToolCallParserTest, OutputStoppingInsideArgumentsIsContentWhenParsedWhole) {
  const std::string call = v3_call("f", "{}");
  const std::string text = kCallsBegin + call.substr(0, call.size() - 5);
  ToolCallParser parser;
  parser.feed(text);
  parser.finish();
  EXPECT_TRUE(parser.truncated());
  const ParsedOutput out = parse_output(text);
  EXPECT_TRUE(out.tool_calls.empty());
  EXPECT_EQ(out.content, text);
}

TEST(ToolCallParserTest, CompleteCallsWithoutClosingSectionTagAreKept) {
  const std::string text = kCallsBegin + v3_call("f", "{\"x\": 1}");
  const ParsedOutput out = parse_output(text);
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].arguments, "{\"x\": 1}");
  expect_stream_matches_whole(text);
}

}  // namespace
}  // namespace fathom::tokenizer
