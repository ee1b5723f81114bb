#include <gtest/gtest.h>

#include "server/protocol/chat_request.h"
#include "server/protocol/completion_request.h"

namespace fathom::server::protocol {
namespace {

TEST(ChatRequestTest, ParsesMessagesAndSharedOptions) {
  Result<ChatRequest> r = parse_chat_request(R"({
    "model": "m", "messages": [{"role": "system", "content": "be brief"},
                               {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
    "temperature": 0, "top_p": 0.5, "top_k": 40, "min_p": 0.1, "seed": 42, "max_tokens": 10,
    "max_completion_tokens": 7, "stop": "END", "presence_penalty": 0.5, "frequency_penalty": -0.5,
    "repetition_penalty": 1.1, "logit_bias": {"17": -100}, "logprobs": true, "top_logprobs": 2,
    "n": 3, "stream": true, "stream_options": {"include_usage": true}})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->model, "m");
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1]["content"], "ab");  // text parts joined
  const GenerationOptions& o = r->options;
  EXPECT_EQ(o.params.max_tokens, 7);  // max_completion_tokens wins
  EXPECT_TRUE(o.max_tokens_set);
  EXPECT_EQ(o.params.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(o.params.sampling.top_p, 0.5f);
  EXPECT_EQ(o.params.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(o.params.sampling.min_p, 0.1f);
  EXPECT_EQ(o.params.sampling.seed, 42u);
  EXPECT_EQ(o.stop, std::vector<std::string>{"END"});
  EXPECT_FLOAT_EQ(o.params.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(o.params.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(o.params.repetition_penalty, 1.1f);
  ASSERT_EQ(o.params.logit_bias.size(), 1u);
  EXPECT_EQ(o.params.logit_bias[0].first, 17);
  EXPECT_EQ(o.params.top_logprobs, 2);
  EXPECT_EQ(o.n, 3);
  EXPECT_TRUE(o.stream);
  EXPECT_TRUE(o.include_usage);
  EXPECT_EQ(r->tool_choice, "none");
}

TEST(ChatRequestTest, DefaultsFollowOpenAi) {
  Result<ChatRequest> r = parse_chat_request(R"({"messages": [{"role": "user", "content": "hi"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->options.max_tokens_set);
  EXPECT_EQ(r->options.params.sampling.temperature, 1.0f);
  EXPECT_EQ(r->options.params.top_logprobs, -1);  // no logprobs
  EXPECT_EQ(r->options.n, 1);
  EXPECT_FALSE(r->options.stream);
  EXPECT_TRUE(r->add_generation_prompt);
}

TEST(ChatRequestTest, ToolsAndToolCallsAreValidated) {
  Result<ChatRequest> r = parse_chat_request(R"({
    "messages": [{"role": "user", "content": "weather?"},
                 {"role": "assistant", "content": null,
                  "tool_calls": [{"id": "c1", "function": {"name": "get", "arguments": "{}"}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "sunny"}],
    "tools": [{"type": "function", "function": {"name": "get", "parameters": {}}}],
    "tool_choice": {"type": "function", "function": {"name": "get"}}})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->tool_choice, "function");
  EXPECT_EQ(r->tool_choice_name, "get");
  EXPECT_TRUE(r->messages[1]["content"].is_null());
  EXPECT_EQ(r->messages[1]["tool_calls"][0]["type"], "function");

  Result<ChatRequest> unknown = parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}],
    "tools": [{"type": "function", "function": {"name": "get"}}],
    "tool_choice": {"type": "function", "function": {"name": "other"}}})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message().rfind("tool_choice", 0), 0u);
}

struct BadCase {
  const char* body;
  const char* message_prefix;  // the field the message names first
};

class ChatRequestRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ChatRequestRejects, WithInvalidArgumentNamingTheField) {
  Result<ChatRequest> r = parse_chat_request(GetParam().body);
  ASSERT_FALSE(r.ok()) << GetParam().body;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind(GetParam().message_prefix, 0), 0u) << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ChatRequestRejects,
    ::testing::Values(
        BadCase{R"({"messages": [}")", "malformed JSON"},
        BadCase{R"([1])", "the request body must be a JSON object"},
        BadCase{R"({})", "messages is required"},
        BadCase{R"({"messages": []})", "messages must not be empty"},
        BadCase{R"({"messages": [{"role": "bot", "content": "x"}]})", "messages[0].role"},
        BadCase{R"({"messages": [{"role": "user"}]})", "messages[0].content"},
        BadCase{R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0]"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature must be a number"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "temperature": 2.5})", "temperature must be in"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "top_p": 0})", "top_p"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "top_k": -2})", "top_k"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "min_p": 1.5})", "min_p"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", "max_tokens must be an integer"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": -1})", "max_completion_tokens"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "n": 0})", "n must be"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "stop": [""]})", "stop"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})", "stop"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"x": 1}})", "logit_bias"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": 101}})", "logit_bias"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "presence_penalty": -3})", "presence_penalty"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "frequency_penalty": 2.5})", "frequency_penalty"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "repetition_penalty": 0})", "repetition_penalty"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3})", "top_logprobs requires"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "stream": 1})", "stream must be a boolean"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}})",
                "stream_options"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})", "tool_choice"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})",
                "response_format.type must be"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "response_format": "json"})", "response_format must be"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}})",
                "response_format.json_schema must be an object"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema",
                   "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": {"not": {}}}}}}})",
                "response_format.json_schema.schema: at /properties/a: the keyword not is not supported"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "guided_regex": 3})", "guided_regex must be a string"},
        BadCase{R"j({"messages": [{"role": "user", "content": "x"}], "guided_regex": "a(?=b)"})j", "guided_regex: pattern"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "guided_choice": []})", "guided_choice must be"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "guided_json": "{not json"})", "guided_json must be"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "guided_grammar": "root ::= x"})", "guided_grammar"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "guided_regex": "a", "guided_choice": ["b"]})",
                "guided_choice: give only one of"},
        BadCase{R"({"messages": [{"role": "user", "content": "x"}], "structured_outputs": {"regex": "a", "choice": ["b"]}})",
                "structured_outputs must give exactly one"}));

TEST(ChatRequestTest, StructuredOutputFieldsCompileToAGrammar) {
  for (const char* extra : {R"("response_format": {"type": "json_object"})",
                            R"("response_format": {"type": "json_schema", "json_schema": {"name": "p", "strict": true,
                                "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}})",
                            R"("guided_json": {"type": "string"})", R"("guided_json": "{\"type\": \"integer\"}")",
                            R"("guided_regex": "[a-z]+")", R"("guided_choice": ["yes", "no"])",
                            R"("structured_outputs": {"choice": ["a"]})",
                            R"("response_format": {"type": "text"}, "guided_regex": "x")"}) {
    const std::string body = std::string(R"({"messages": [{"role": "user", "content": "x"}], )") + extra + "}";
    Result<ChatRequest> r = parse_chat_request(body);
    ASSERT_TRUE(r.ok()) << extra << ": " << r.status().message();
    EXPECT_NE(r->options.grammar, nullptr) << extra;
  }
  Result<ChatRequest> text = parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->options.grammar, nullptr);
}

TEST(CompletionRequestTest, AcceptsTextIdsAndLists) {
  Result<CompletionRequest> text = parse_completion_request(R"({"prompt": "hi", "echo": true, "logprobs": 2})");
  ASSERT_TRUE(text.ok());
  ASSERT_EQ(text->prompts.size(), 1u);
  EXPECT_FALSE(text->prompts[0].is_ids);
  EXPECT_TRUE(text->echo);
  EXPECT_EQ(text->options.params.top_logprobs, 2);

  Result<CompletionRequest> ids = parse_completion_request(R"({"prompt": [0, 17, 42]})");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->prompts[0].ids, (std::vector<int32_t>{0, 17, 42}));

  Result<CompletionRequest> many = parse_completion_request(R"({"prompt": ["a", [1, 2]]})");
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->prompts.size(), 2u);
  EXPECT_TRUE(many->prompts[1].is_ids);
}

TEST(CompletionRequestTest, RejectsBadPrompts) {
  for (const char* body : {R"({})", R"({"prompt": 5})", R"({"prompt": ""})", R"({"prompt": []})",
                           R"({"prompt": [1, -1]})", R"({"prompt": [1, 2.5]})", R"({"prompt": "x", "logprobs": 30})"}) {
    Result<CompletionRequest> r = parse_completion_request(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace fathom::server::protocol
