// The Responses API request mapping and answer, and the forced tool_choice grammar and prompt.
#include <gtest/gtest.h>

#include "grammar/matcher.h"
#include "server/protocol/responses_output.h"
#include "server/protocol/responses_request.h"
#include "server/protocol/tool_choice.h"

namespace fathom::server::protocol {
namespace {

bool matches(const GrammarPtr& g, std::string_view text) {
  grammar::Matcher m(g);
  return m.accept(text) && m.can_end();
}

constexpr const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
  {"type": "function", "function": {"name": "now"}}])";

ChatRequest chat_with(const std::string& tool_choice, bool parallel = true) {
  Result<ChatRequest> r = parse_chat_request(
      std::string(R"({"messages": [{"role": "user", "content": "x"}], "tools": )") + kTools +
      ", \"tool_choice\": " + tool_choice +
      ", \"parallel_tool_calls\": " + (parallel ? "true" : "false") + "}");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return *r;
}

TEST(ForcedToolGrammarTest, ANamedFunctionConstrainsTheOutputToItsArguments) {
  Result<GrammarPtr> g = forced_tool_grammar(
      chat_with(R"({"type": "function", "function": {"name": "get_weather"}})"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_NE(*g, nullptr);
  EXPECT_TRUE(matches(*g, R"({"city": "Paris"})"));
  EXPECT_FALSE(matches(*g, R"({})"));  // city is required
  EXPECT_FALSE(matches(*g, R"({"town": "Paris"})"));
}

TEST(ForcedToolGrammarTest, RequiredIsAListOfCallsToListedTools) {
  Result<GrammarPtr> g = forced_tool_grammar(chat_with(R"("required")"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(matches(*g, R"([{"name": "get_weather", "parameters": {"city": "Oslo"}}])"));
  EXPECT_TRUE(matches(
      *g,
      R"([{"name": "now", "parameters": {}}, {"name": "get_weather", "parameters": {"city": "a"}}])"));
  EXPECT_FALSE(matches(*g, R"([])"));  // at least one call
  EXPECT_FALSE(
      matches(*g, R"([{"name": "now", "parameters": {"city": "a"}}])"));  // now takes no arguments
  EXPECT_FALSE(matches(*g, R"([{"name": "rm_rf", "parameters": {}}])"));

  Result<GrammarPtr> one = forced_tool_grammar(chat_with(R"("required")", /*parallel=*/false));
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(matches(*one, R"([{"name": "now", "parameters": {}}])"));
  EXPECT_FALSE(
      matches(*one, R"([{"name": "now", "parameters": {}}, {"name": "now", "parameters": {}}])"));
}

TEST(ForcedToolGrammarTest, AutoAndNoneAddNoGrammar) {
  for (const char* choice : {R"("auto")", R"("none")"}) {
    Result<GrammarPtr> g = forced_tool_grammar(chat_with(choice));
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(*g, nullptr) << choice;
  }
}

TEST(ForcedToolGrammarTest, ASchemaTheCompilerCannotHonourNamesTheTool) {
  Result<ChatRequest> r = parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "not": {}}}}],
    "tool_choice": "required"})");
  ASSERT_TRUE(r.ok());
  Result<GrammarPtr> g = forced_tool_grammar(*r);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("tools[0].function.parameters"), std::string::npos)
      << g.status().message();
}

TEST(ToolPromptTest, ListsEveryToolAndTheCallMarkupAndJoinsTheSystemPrompt) {
  const Json tools = Json::parse(kTools);
  const std::string text = tools_system_prompt(tools, /*parallel_tool_calls=*/false);
  EXPECT_NE(text.find("- get_weather: Weather now"), std::string::npos);
  EXPECT_NE(text.find("Weather now"), std::string::npos);
  EXPECT_NE(text.find(R"("required":["city"])"), std::string::npos);
  EXPECT_NE(text.find("<｜tool▁calls▁begin｜>"), std::string::npos);
  EXPECT_NE(text.find("at most one"), std::string::npos);

  const Json with_system =
      with_system_text(Json::parse(R"([{"role": "system", "content": "Be brief."},
                                                             {"role": "user", "content": "hi"}])"),
                       "TOOLS");
  EXPECT_EQ(with_system[0]["content"], "Be brief.\n\nTOOLS");
  const Json without =
      with_system_text(Json::parse(R"([{"role": "user", "content": "hi"}])"), "TOOLS");
  ASSERT_EQ(without.size(), 2u);
  EXPECT_EQ(without[0], Json::parse(R"({"role": "system", "content": "TOOLS"})"));
}

TEST(ResponsesRequestTest, MapsInputInstructionsToolsAndOptionsOntoAChatRequest) {
  Result<ResponsesRequest> r = parse_responses_request(R"({
    "model": "m", "instructions": "Be brief.", "max_output_tokens": 20, "temperature": 0.5, "stream": true,
    "store": true, "metadata": {"k": "v"}, "parallel_tool_calls": false,
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "Weather in "}, {"type": "input_text", "text": "Oslo?"}]},
              {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
              {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
              {"type": "reasoning", "id": "rs_1", "summary": []},
              {"type": "message", "role": "developer", "content": "Answer in French."}],
    "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object", "properties": {"t": {"type": "integer"}}}}}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const ChatRequest& c = r->chat;
  EXPECT_EQ(c.model, "m");
  ASSERT_EQ(c.messages.size(), 5u);
  EXPECT_EQ(c.messages[0], Json::parse(R"({"role": "system", "content": "Be brief."})"));
  EXPECT_EQ(c.messages[1]["content"], "Weather in Oslo?");
  EXPECT_EQ(c.messages[2]["role"], "assistant");
  EXPECT_EQ(c.messages[2]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(c.messages[3],
            Json::parse(R"({"role": "tool", "tool_call_id": "c1", "content": "sunny"})"));
  EXPECT_EQ(c.messages[4]["role"], "system");
  EXPECT_EQ(c.tools[0]["function"]["name"], "get_weather");
  EXPECT_EQ(c.tool_choice, "function");
  EXPECT_EQ(c.tool_choice_name, "get_weather");
  EXPECT_FALSE(c.parallel_tool_calls);
  EXPECT_EQ(c.options.params.max_tokens, 20);
  EXPECT_TRUE(c.options.stream);
  EXPECT_NE(c.options.grammar, nullptr);  // text.format
  EXPECT_EQ(r->echo["instructions"], "Be brief.");
  EXPECT_EQ(r->echo["metadata"]["k"], "v");
  EXPECT_EQ(r->echo["text"]["format"]["type"], "json_schema");
}

struct BadResponses {
  const char* body;
  const char* message_start;
};
class ResponsesRequestRejects : public ::testing::TestWithParam<BadResponses> {};

TEST_P(ResponsesRequestRejects, WithInvalidArgumentNamingTheField) {
  Result<ResponsesRequest> r = parse_responses_request(GetParam().body);
  ASSERT_FALSE(r.ok()) << GetParam().body;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind(GetParam().message_start, 0), 0u) << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ResponsesRequestRejects,
    ::testing::Values(
        BadResponses{R"({"model": "m"})", "input is required"},
        BadResponses{R"({"input": 5})", "input must be"},
        BadResponses{R"({"input": []})", "input must not be empty"},
        BadResponses{R"({"input": [{"role": "robot", "content": "x"}]})", "input[0].role"},
        BadResponses{R"({"input": [{"role": "user", "content": [{"type": "input_image"}]}]})",
                     "input[0].content[0]"},
        BadResponses{R"({"input": [{"type": "item_reference", "id": "msg_1"}]})",
                     "input[0]: item_reference"},
        BadResponses{R"({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]})",
                     "input[0].call_id"},
        BadResponses{R"({"input": "x", "max_output_tokens": 0})", "max_output_tokens must be"},
        BadResponses{R"({"input": "x", "max_output_tokens": "many"})", "max_output_tokens"},
        BadResponses{R"({"input": "x", "temperature": 9})", "temperature must be"},
        BadResponses{R"({"input": "x", "stream": "yes"})", "stream"},
        BadResponses{R"({"input": "x", "previous_response_id": "resp_1"})",
                     "previous_response_id is not"},
        BadResponses{R"({"input": "x", "background": true})", "background is not"},
        BadResponses{R"({"input": "x", "tools": [{"type": "web_search"}]})", "tools[0].type"},
        BadResponses{R"({"input": "x", "tools": [{"type": "function"}]})", "tools[0].name"},
        BadResponses{R"({"input": "x", "tool_choice": "required"})",
                     "tool_choice \"required\" needs tools"},
        BadResponses{R"({"input": "x", "tool_choice": 3})", "tool_choice must be"},
        BadResponses{R"({"input": "x", "text": {"format": {"type": "xml"}}})", "text.format.type"},
        BadResponses{R"({"input": "x", "text": 1})", "text must be"},
        BadResponses{R"({"input": "x", "truncation": "sometimes"})", "truncation must be"},
        BadResponses{R"({"input": "x", "metadata": []})", "metadata"}));

TEST(ResponsesOutputTest, StreamsItemsInOrderAndTheFinalResponseHoldsThem) {
  ResponsesOutput out("resp_abc", "m", 1700000000, Json{{"instructions", "Be brief."}});
  std::vector<ResponsesEvent> events = out.start();
  auto add = [&](std::vector<ResponsesEvent> more) {
    events.insert(events.end(), more.begin(), more.end());
  };
  add(out.add("thinking", "", {}));
  add(out.add("", "Hel", {}));
  add(out.add("", "lo", {}));
  tokenizer::ToolCallDelta start{0, "call_0", "get_weather", ""},
      args{0, "", "", R"({"city": "Oslo"})"};
  add(out.add("", "", {start, args}));
  Usage usage;
  usage.prompt_tokens = 7;
  usage.completion_tokens = 5;
  add(out.finish("tool_calls", usage));

  std::vector<std::string> types;
  for (size_t k = 0; k < events.size(); ++k) {
    types.push_back(events[k].type);
    EXPECT_EQ(events[k].data["type"], events[k].type);
    EXPECT_EQ(events[k].data["sequence_number"], static_cast<int64_t>(k));
  }
  const std::vector<std::string> want = {"response.created",
                                         "response.in_progress",
                                         "response.output_item.added",
                                         "response.reasoning_text.delta",
                                         "response.reasoning_text.done",
                                         "response.output_item.done",
                                         "response.output_item.added",
                                         "response.content_part.added",
                                         "response.output_text.delta",
                                         "response.output_text.delta",
                                         "response.output_text.done",
                                         "response.content_part.done",
                                         "response.output_item.done",
                                         "response.output_item.added",
                                         "response.function_call_arguments.delta",
                                         "response.function_call_arguments.done",
                                         "response.output_item.done",
                                         "response.completed"};
  EXPECT_EQ(types, want);

  const Json r = out.response();
  EXPECT_EQ(events.back().data["response"], r);
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["instructions"], "Be brief.");
  ASSERT_EQ(r["output"].size(), 3u);
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "thinking");
  EXPECT_EQ(r["output"][1]["content"][0]["text"], "Hello");
  EXPECT_EQ(r["output"][2]["call_id"], "call_0");
  EXPECT_EQ(r["output"][2]["arguments"], R"({"city": "Oslo"})");
  EXPECT_EQ(r["usage"]["input_tokens"], 7);
  EXPECT_EQ(r["usage"]["output_tokens"], 5);
  EXPECT_EQ(r["usage"]["total_tokens"], 12);
}

TEST(ResponsesOutputTest, AnAnswerCutByTheTokenLimitIsIncomplete) {
  ResponsesOutput out("resp_x", "m", 1, Json::object());
  out.add("", "partial", {});
  std::vector<ResponsesEvent> end = out.finish("length", Usage{});
  EXPECT_EQ(end.back().type, "response.incomplete");
  const Json r = out.response();
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
}

TEST(ResponsesOutputTest, AFailureSendsAnErrorThenResponseFailed) {
  ResponsesOutput out("resp_x", "m", 1, Json::object());
  out.start();
  std::vector<ResponsesEvent> events = out.fail("server_error", "boom");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["message"], "boom");
  EXPECT_EQ(events[1].data["response"]["status"], "failed");
  EXPECT_EQ(events[1].data["response"]["error"]["code"], "server_error");
}

}  // namespace
}  // namespace fathom::server::protocol
