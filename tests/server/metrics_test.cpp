#include <gtest/gtest.h>

#include "server/server_metrics.h"

namespace fathom::server {
namespace {

engine::EngineStats sample_stats() {
  engine::EngineStats s;
  s.num_running = 3;
  s.num_waiting = 2;
  s.num_kv_blocks = 100;
  s.num_free_kv_blocks = 75;
  s.kv_cache_usage = 0.25;
  s.prefix_cache_queries = 640;
  s.prefix_cache_hits = 320;
  s.num_preemptions = 1;
  s.prompt_tokens_total = 1000;
  s.generation_tokens_total = 500;
  s.requests_finished = {{"length", 4}, {"stop", 6}};
  s.time_to_first_token_s.upper_bounds = {0.1, 1.0};
  s.time_to_first_token_s.bucket_counts = {2, 3, 1};  // per bucket; the last is +Inf
  s.time_to_first_token_s.sum = 4.5;
  s.time_to_first_token_s.count = 6;
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(MetricsTest, RendersFathomNamesWithCumulativeHistogramBuckets) {
  engine::EngineStats e = sample_stats();
  ServerMetrics m;
  m.count_finish("stop");
  m.count_finish("stop");
  m.count_http_status(200);
  m.count_client_disconnect();
  const std::string text = render_metrics(&e, m.snapshot(), "tiny", MetricsNames::kFathom);
  EXPECT_TRUE(has_line(text, "fathom_num_requests_running{model_name=\"tiny\"} 3"));
  EXPECT_TRUE(has_line(text, "fathom_num_requests_waiting{model_name=\"tiny\"} 2"));
  EXPECT_TRUE(has_line(text, "fathom_kv_cache_usage_ratio{model_name=\"tiny\"} 0.25"));
  EXPECT_TRUE(has_line(text, "fathom_prefix_cache_hits_tokens_total{model_name=\"tiny\"} 320"));
  EXPECT_TRUE(has_line(text, "fathom_time_to_first_token_seconds_bucket{model_name=\"tiny\",le=\"0.10000000000000001\"} 2"));
  EXPECT_TRUE(has_line(text, "fathom_time_to_first_token_seconds_bucket{model_name=\"tiny\",le=\"1\"} 5"));
  EXPECT_TRUE(has_line(text, "fathom_time_to_first_token_seconds_bucket{model_name=\"tiny\",le=\"+Inf\"} 6"));
  EXPECT_TRUE(has_line(text, "fathom_time_to_first_token_seconds_count{model_name=\"tiny\"} 6"));
  EXPECT_TRUE(has_line(text, "fathom_requests_finished_total{model_name=\"tiny\",finished_reason=\"stop\"} 2"));
  EXPECT_TRUE(has_line(text, "fathom_engine_requests_finished_total{model_name=\"tiny\",finished_reason=\"length\"} 4"));
  EXPECT_TRUE(has_line(text, "fathom_client_disconnects_total{model_name=\"tiny\"} 1"));
  EXPECT_TRUE(has_line(text, "# TYPE fathom_time_to_first_token_seconds histogram"));
  EXPECT_EQ(text.find("vllm:"), std::string::npos);
}

TEST(MetricsTest, VllmNamesOnRequest) {
  engine::EngineStats e = sample_stats();
  const std::string text = render_metrics(&e, ServerMetricsSnapshot{}, "tiny", MetricsNames::kFathomAndVllm);
  EXPECT_TRUE(has_line(text, "vllm:num_requests_waiting{model_name=\"tiny\"} 2"));
  EXPECT_TRUE(has_line(text, "vllm:num_requests_running{model_name=\"tiny\"} 3"));
  EXPECT_TRUE(has_line(text, "vllm:kv_cache_usage_perc{model_name=\"tiny\"} 0.25"));
  EXPECT_TRUE(has_line(text, "vllm:prefix_cache_queries_total{model_name=\"tiny\"} 640"));
  EXPECT_TRUE(has_line(text, "vllm:num_preemptions_total{model_name=\"tiny\"} 1"));
  EXPECT_TRUE(has_line(text, "# TYPE vllm:e2e_request_latency_seconds histogram"));
}

TEST(MetricsTest, WhileLoadingOnlyServerMetrics) {
  const std::string text = render_metrics(nullptr, ServerMetricsSnapshot{}, "m\"x", MetricsNames::kFathomAndVllm);
  EXPECT_TRUE(has_line(text, "fathom_model_loaded{model_name=\"m\\\"x\"} 0"));
  EXPECT_EQ(text.find("fathom_num_requests_running"), std::string::npos);
}

}  // namespace
}  // namespace fathom::server
