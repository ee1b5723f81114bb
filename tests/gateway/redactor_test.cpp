// Redact mode: entities replaced by placeholders in the request that goes to a cloud pool, and
// restored in the answer, whole or streamed in arbitrary pieces.
#include "gateway/classify/redactor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fathom::gateway::classify {
namespace {

using nlohmann::json;

ClassifierConfig rules() {
  ClassifierConfig c;
  c.keywords = {"falcon"};
  auto p = compile_pattern(R"(\bPRJ-\d{4}\b)");
  EXPECT_TRUE(p.ok());
  c.patterns.push_back(*p);
  c.redact = true;
  return c;
}

std::string all_texts(const json& body) {
  std::string out;
  for (std::string_view t : request_texts(body)) out.append(t).append("\n");
  return out;
}

TEST(RedactorTest, ReplacesEveryFindingWithAStablePlaceholder) {
  json body = {{"model", "m"},
               {"messages",
                {{{"role", "system"}, {"content", "Project Falcon, ticket PRJ-1234."}},
                 {{"role", "user"},
                  {"content",
                   "Mail zhang.san@example.com or call 13912345678; again zhang.san@example.com"}},
                 {{"role", "assistant"},
                  {"tool_calls",
                   {{{"function", {{"name", "f"}, {"arguments", R"({"to":"13912345678"})"}}}}}}}}}};
  const json original = body;
  auto r = Redaction::apply(body, rules());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 4u);  // Falcon, PRJ-1234, the e-mail, the mobile (each once)
  const std::string sent = all_texts(body);
  for (const char* secret : {"zhang.san", "13912345678", "Falcon", "PRJ-1234"})
    EXPECT_EQ(sent.find(secret), std::string::npos) << secret << " in " << sent;
  EXPECT_EQ(body["messages"][1]["content"],
            "Mail [EMAIL_1] or call [CN_MOBILE_1]; again [EMAIL_1]");
  EXPECT_EQ(body["messages"][0]["content"], "Project [KEYWORD_1], ticket [PATTERN_1].");
  EXPECT_EQ(body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            R"({"to":"[CN_MOBILE_1]"})");
  EXPECT_EQ(body["model"], "m");  // only the texts change
  // What was sent classifies as not sensitive under the same rules.
  EXPECT_FALSE(classify({.texts = request_texts(body)}, rules()).sensitive);
  // And the originals come back.
  for (size_t i = 0; i < 3; ++i) {
    json m = body["messages"][i];
    r->restore_json(m);
    EXPECT_EQ(m, original["messages"][i]);
  }
}

TEST(RedactorTest, APlaceholderNeverCollidesWithTheRequestsOwnText) {
  json body = {{"prompt", "Literal [EMAIL_1] here, and a.b@example.org"}};
  auto r = Redaction::apply(body, rules());
  ASSERT_TRUE(r);
  EXPECT_EQ(body["prompt"], "Literal [EMAIL_1] here, and [EMAIL_2]");
  EXPECT_EQ(r->restore(body["prompt"].get<std::string>()),
            "Literal [EMAIL_1] here, and a.b@example.org");
}

TEST(RedactorTest, FailsClosedWhenTheRedactedTextStillMatches) {
  ClassifierConfig c = rules();
  c.keywords.push_back("keyword");  // the placeholder [KEYWORD_1] would itself match
  json body = {{"prompt", "the falcon flies"}};
  EXPECT_FALSE(Redaction::apply(body, c));
}

TEST(RedactorTest, NothingFoundMeansNothingChanges) {
  json body = {{"prompt", "What is the capital of France?"}};
  auto r = Redaction::apply(body, rules());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(body["prompt"], "What is the capital of France?");
}

// Every way of cutting the answer into pieces gives the same restored text.
TEST(StreamRestorerTest, RestoresPlaceholdersSplitAnywhere) {
  json body = {{"prompt", "mail a.b@example.org, call 13912345678"}};
  auto r = Redaction::apply(body, rules());
  ASSERT_TRUE(r);
  const std::string answer = "Sure: [EMAIL_1] and [CN_MOBILE_1]. [not a placeholder] [EMAIL_";
  const std::string want = "Sure: a.b@example.org and 13912345678. [not a placeholder] [EMAIL_";
  for (size_t a = 0; a <= answer.size(); ++a)
    for (size_t b = a; b <= answer.size(); b += 3) {
      StreamRestorer s(&*r);
      std::string got = s.feed(answer.substr(0, a));
      got += s.feed(answer.substr(a, b - a));
      got += s.feed(answer.substr(b));
      got += s.flush();
      ASSERT_EQ(got, want) << "cut at " << a << ", " << b;
    }
}

TEST(ChunkRestorerTest, RestoresEachChoiceAndFlushesOnFinish) {
  json body = {{"messages", {{{"role", "user"}, {"content", "a.b@example.org 13912345678"}}}}};
  auto r = Redaction::apply(body, rules());
  ASSERT_TRUE(r);
  ChunkRestorer cr(&*r);
  const auto chunk = [](int index, json delta, json finish = nullptr) {
    return json{
        {"object", "chat.completion.chunk"},
        {"choices", {{{"index", index}, {"delta", std::move(delta)}, {"finish_reason", finish}}}}};
  };
  std::string c0, c1, args;
  const auto take = [&](json j) {
    cr.restore(j);
    for (const json& ch : j["choices"]) {
      const json& d = ch["delta"];
      std::string& out = ch["index"] == 0 ? c0 : c1;
      if (d.contains("content") && d["content"].is_string()) out += d["content"].get<std::string>();
      if (d.contains("tool_calls"))
        for (const json& call : d["tool_calls"])
          args += call["function"]["arguments"].get<std::string>();
    }
  };
  take(chunk(0, {{"role", "assistant"}, {"content", "To [EM"}}));
  take(chunk(1, {{"content", "Call [CN_MOB"}}));
  take(chunk(0, {{"content", "AIL_1] now [CN"}}));
  take(chunk(1,
             {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"m\":\"[CN_MO"}}}}}}}));
  take(chunk(1, {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "BILE_1]\"}"}}}}}}}));
  take(chunk(1, {{"content", "ILE_1]"}}, "stop"));
  take(chunk(0, json::object(), "length"));  // held back "[CN" comes out with the finish
  EXPECT_EQ(c0, "To a.b@example.org now [CN");
  EXPECT_EQ(c1, "Call 13912345678");
  EXPECT_EQ(args, "{\"m\":\"13912345678\"}");
}

TEST(ChunkRestorerTest, CompletionsTextAndHostileShapesDoNotThrow) {
  json body = {{"prompt", "a.b@example.org"}};
  auto r = Redaction::apply(body, rules());
  ASSERT_TRUE(r);
  ChunkRestorer cr(&*r);
  json a = {{"choices", {{{"index", 0}, {"text", "[EMAIL"}, {"finish_reason", nullptr}}}}};
  json b = {{"choices", {{{"index", 0}, {"text", "_1]!"}, {"finish_reason", "stop"}}}}};
  cr.restore(a);
  cr.restore(b);
  EXPECT_EQ(a["choices"][0]["text"].get<std::string>() + b["choices"][0]["text"].get<std::string>(),
            "a.b@example.org!");
  json odd_choice = {{"index", "0"},
                     {"delta", {{"content", 5}, {"tool_calls", {{{"index", "x"}}}}}},
                     {"finish_reason", "stop"}};
  std::vector<json> hostile = {json{{"choices", 3}}, json{{"choices", {1, "x", nullptr}}},
                               json{{"choices", {odd_choice}}}, json::array()};
  for (json& bad : hostile) EXPECT_NO_THROW(cr.restore(bad));
}

}  // namespace
}  // namespace fathom::gateway::classify
