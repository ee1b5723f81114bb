// The load generator behind `fathom bench serve` (in the spirit of vLLM's serving benchmark):
// N closed-loop clients send M streaming /v1/completions requests of P prompt tokens and G
// output tokens (ignore_eos) and time every streamed chunk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::server {

struct ServeBenchConfig {
  std::string url;  ///< http://host:port
  std::string api_key;
  std::string model;  ///< "" = the first of GET /v1/models
  int32_t concurrency = 8;
  int32_t num_requests = 64;
  int32_t prompt_tokens = 128;
  int32_t max_tokens = 64;
  uint64_t seed = 0;
};

struct LatencyStats {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;  ///< milliseconds
};

struct ServeBenchResult {
  std::string model;
  int32_t completed = 0;
  int32_t failed = 0;
  std::string first_error;
  double duration_s = 0;
  int64_t prompt_tokens = 0;  ///< as the server's usage reported them
  int64_t output_tokens = 0;
  double request_throughput = 0;  ///< requests/s
  double output_throughput = 0;   ///< generated tokens/s
  double total_token_throughput = 0;
  LatencyStats ttft, tpot, itl, e2e;
};

/// Runs the benchmark. Fails only when the server cannot be reached or used at all;
/// individual failed requests are counted in the result.
Result<ServeBenchResult> run_serve_bench(const ServeBenchConfig& cfg);

std::string serve_bench_json(const ServeBenchConfig& cfg, const ServeBenchResult& r);
std::string serve_bench_table(const ServeBenchConfig& cfg, const ServeBenchResult& r);

/// Percentile (0..100) with linear interpolation; 0 for an empty list.
double percentile(std::vector<double> values, double pct);

}  // namespace fathom::server
