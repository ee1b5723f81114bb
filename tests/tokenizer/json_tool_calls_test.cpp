// JsonToolCallStream: forced tool calls written as JSON, read whole and byte by byte.
#include "tokenizer/json_tool_calls.h"

#include <gtest/gtest.h>

namespace fathom::tokenizer {
namespace {

// Feeds `text` in pieces of `step` bytes and assembles the calls from the deltas alone.
std::vector<ToolCall> assemble(JsonToolCallStream stream, std::string_view text, size_t step) {
  std::vector<ToolCall> calls;
  for (size_t at = 0; at < text.size(); at += step) {
    for (const ToolCallDelta& d : stream.feed(text.substr(at, step))) {
      if (static_cast<size_t>(d.index) >= calls.size()) {
        EXPECT_EQ(static_cast<size_t>(d.index), calls.size()) << "calls start in order";
        EXPECT_FALSE(d.id.empty()) << "a call's first delta carries its id";
        EXPECT_FALSE(d.name.empty()) << "a call's first delta carries its name";
        calls.push_back({d.id, d.name, ""});
      } else {
        EXPECT_TRUE(d.name.empty()) << "the name comes once";
      }
      calls[static_cast<size_t>(d.index)].arguments += d.arguments;
    }
  }
  return calls;
}

TEST(JsonToolCallStreamTest, ANamedCallStreamsTheWholeOutputAsItsArguments) {
  const std::string out = R"({"city": "Paris", "days": [1, 2]})";
  for (size_t step : {1, 3, 100}) {
    auto calls = assemble(JsonToolCallStream::named("get_weather", "call_x_"), out, step);
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].id, "call_x_0");
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(calls[0].arguments, out);
  }
}

TEST(JsonToolCallStreamTest, AListGivesEachCallItsNameAndParametersText) {
  const std::string out =
      R"([{"name": "get_weather", "parameters": {"city": "Pa}ri,s\"", "n": {"a": [1, {"b": 2}]}}},)"
      R"({"name":"now","parameters":{}}])";
  for (size_t step : {1, 2, 7, 1000}) {
    auto calls = assemble(JsonToolCallStream::list(), out, step);
    ASSERT_EQ(calls.size(), 2u) << "step " << step;
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(calls[0].arguments, R"({"city": "Pa}ri,s\"", "n": {"a": [1, {"b": 2}]}})");
    EXPECT_EQ(calls[1].id, "call_1");
    EXPECT_EQ(calls[1].name, "now");
    EXPECT_EQ(calls[1].arguments, "{}");
  }
}

TEST(JsonToolCallStreamTest, ParametersBeforeTheNameWaitForIt) {
  auto calls =
      assemble(JsonToolCallStream::list(), R"([{"parameters": {"q": 1}, "name": "f\u0041"}])", 1);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "fA");
  EXPECT_EQ(calls[0].arguments, R"({"q": 1})");
}

TEST(JsonToolCallStreamTest, ATruncatedOutputKeepsWhatWasRead) {
  JsonToolCallStream s = JsonToolCallStream::list();
  s.feed(R"([{"name": "f", "parameters": {"q": "ab)");
  ASSERT_EQ(s.calls().size(), 1u);
  EXPECT_EQ(s.calls()[0].arguments, R"({"q": "ab)");
}

TEST(JsonToolCallStreamTest, TextThatIsNotTheListShapeGivesNoCalls) {
  JsonToolCallStream s = JsonToolCallStream::list();
  EXPECT_TRUE(s.feed(R"("just a string" {"name": "f"})").empty());
  EXPECT_TRUE(s.calls().empty());
}

}  // namespace
}  // namespace fathom::tokenizer
