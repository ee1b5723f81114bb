#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/error_mapping.h"

namespace fathom::server {
namespace {

TEST(ErrorMappingTest, CodesMapToHttpStatusesAndTypes) {
  EXPECT_EQ(http_error_for(Code::kInvalidArgument).http_status, 400);
  EXPECT_STREQ(http_error_for(Code::kInvalidArgument).type, "invalid_request_error");
  EXPECT_EQ(http_error_for(Code::kUnauthenticated).http_status, 401);
  EXPECT_EQ(http_error_for(Code::kNotFound).http_status, 404);
  EXPECT_EQ(http_error_for(Code::kResourceExhausted).http_status, 429);
  EXPECT_EQ(http_error_for(Code::kUnavailable).http_status, 503);
  EXPECT_EQ(http_error_for(Code::kInternal).http_status, 500);
}

TEST(ErrorMappingTest, ParamIsTheLeadingRequestField) {
  EXPECT_EQ(param_from_message("temperature must be >= 0, got -1"), "temperature");
  EXPECT_EQ(param_from_message("messages[1].role must be one of"), "messages");
  EXPECT_EQ(param_from_message("logit_bias: token id 9 is outside"), "logit_bias");
  EXPECT_EQ(param_from_message("This model's maximum context length is 256"), "");
  EXPECT_EQ(param_from_message("the prompt is empty"), "");
  EXPECT_EQ(param_from_message("temperature"), "");  // no sentence: not a field reference
}

TEST(ErrorMappingTest, ErrorResponseHasTheOpenAiShape) {
  net::HttpResponse r = error_response(invalid_argument("top_p must be in (0, 1], got 0"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["message"], "top_p must be in (0, 1], got 0");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "top_p");
  EXPECT_TRUE(j["error"]["code"].is_null());

  net::HttpResponse busy = error_response(resource_exhausted("queue full"));
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(nlohmann::json::parse(busy.body)["error"]["code"], "rate_limit_exceeded");
  bool retry_after = false;
  for (auto& [k, v] : busy.headers) retry_after = retry_after || k == "Retry-After";
  EXPECT_TRUE(retry_after);

  net::HttpResponse too_big = http_error_response(413, "body too large");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(nlohmann::json::parse(too_big.body)["error"]["type"], "invalid_request_error");
}

TEST(ErrorMappingTest, InvalidUtf8InMessagesDoesNotThrow) {
  net::HttpResponse r = error_response(invalid_argument("stop strings must not be \xff\xfe"));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(nlohmann::json::accept(r.body));
}

}  // namespace
}  // namespace fathom::server
