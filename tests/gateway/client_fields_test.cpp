#include "gateway/proxy/client_fields.h"

#include <gtest/gtest.h>

#include "gateway/proxy/errors.h"
#include "json/json_fields.h"

namespace fathom::gateway {
namespace {

Result<ClientFields> read(const char* text) {
  return read_client_fields(nlohmann::json::parse(text));
}

// The param a wrong body is refused with ("" when it is accepted).
std::string refused_param(const char* text) {
  auto f = read(text);
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), Code::kInvalidArgument) << text;
  const auto j = nlohmann::json::parse(field_error_response(f.status()).body);
  return j["error"]["param"].is_string() ? j["error"]["param"].get<std::string>() : "<null>";
}

TEST(ClientFieldsTest, ReadsTheFieldsTheGatewayUses) {
  auto f = read(R"({"model":"ds","stream":true,"stream_options":{"include_usage":true},"max_tokens":7})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->model, "ds");
  EXPECT_TRUE(f->stream);
  EXPECT_TRUE(f->include_usage);
  EXPECT_EQ(f->max_tokens, 7);
  auto g = read(R"({"model":"ds","max_completion_tokens":9})");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->stream);
  EXPECT_EQ(g->max_tokens, 9);
}

TEST(ClientFieldsTest, NullMeansNotGiven) {
  auto f = read(R"({"model":"ds","stream":null,"stream_options":null,"max_tokens":null})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_FALSE(f->stream);
  EXPECT_EQ(f->max_tokens, 256);
}

TEST(ClientFieldsTest, EveryWrongValueNamesItsField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"stream":true})", "model"},
      {R"({"model":null})", "model"},
      {R"({"model":3})", "model"},
      {R"({"model":"ds","stream":"yes"})", "stream"},
      {R"({"model":"ds","stream":0})", "stream"},
      {R"({"model":"ds","stream":true,"stream_options":"x"})", "stream_options"},
      {R"({"model":"ds","stream_options":{}})", "stream_options"},
      {R"({"model":"ds","stream":true,"stream_options":{"include_usage":1}})", "stream_options.include_usage"},
      {R"({"model":"ds","max_tokens":0})", "max_tokens"},
      {R"({"model":"ds","max_tokens":"8"})", "max_tokens"},
      {R"({"model":"ds","max_tokens":2.5})", "max_tokens"},
      {R"({"model":"ds","max_tokens":18446744073709551615})", "max_tokens"},
      {R"({"model":"ds","max_completion_tokens":-1})", "max_completion_tokens"},
  };
  for (const auto& [body, param] : cases) EXPECT_EQ(refused_param(body), param) << body;
}

TEST(JsonFieldsTest, ANumberTooLargeForADoubleIsMalformedJsonNotAnException) {
  // Found by fuzz/gateway_request_fuzz: nlohmann reports it as out_of_range, not parse_error.
  for (const char* body : {R"({"max_tokens":1e400})", R"({"model":null,"max_tokens":-0.5e400|)"}) {
    auto j = json::parse_json_object<nlohmann::json>(body);
    ASSERT_FALSE(j.ok()) << body;
    EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(j.status().message().rfind("malformed JSON", 0), 0u) << j.status().message();
  }
}

TEST(JsonFieldsTest, ParamOfTakesTheLeadingFieldNameOnly) {
  EXPECT_EQ(json::param_of("stream must be a boolean, got \"yes\""), "stream");
  EXPECT_EQ(json::param_of("stream_options.include_usage must be a boolean"), "stream_options.include_usage");
  EXPECT_EQ(json::param_of("'tenant' is required"), "");
  EXPECT_EQ(json::param_of(""), "");
}

}  // namespace
}  // namespace fathom::gateway
