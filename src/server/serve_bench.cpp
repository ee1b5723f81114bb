#include "server/serve_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "net/http_client.h"
#include "server/protocol/json_fields.h"

namespace fathom::server {
namespace {

using protocol::Json;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Sample {
  bool ok = false;
  std::string error;
  double ttft_ms = 0, e2e_ms = 0;
  std::vector<double> itl_ms;
  int64_t prompt_tokens = 0, output_tokens = 0;
};

std::map<std::string, std::string> auth(const ServeBenchConfig& cfg) {
  if (cfg.api_key.empty()) return {};
  return {{"Authorization", "Bearer " + cfg.api_key}};
}

// A long token stream from seeded pseudo-words, so prompts differ (no accidental prefix hits)
// and are real token ids of the served model whatever its vocabulary.
Result<std::vector<int32_t>> token_pool(net::HttpClient& client, const ServeBenchConfig& cfg, const std::string& path,
                                        size_t min_tokens) {
  std::mt19937_64 rng(cfg.seed);
  const char* kSyllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po", "an", "el", "in", "or", "us"};
  std::vector<int32_t> pool;
  while (pool.size() < min_tokens) {
    std::string text;
    for (int w = 0; w < 2000; ++w) {
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int s = 0; s < n; ++s) text += kSyllables[rng() % 15];
      text += (rng() % 11 == 0) ? ". " : " ";
    }
    // "prompt" is vLLM's and fathom's field, "content" llama-server's.
    Json body = {
        {"model", cfg.model}, {"prompt", text}, {"content", text}, {"add_special_tokens", false}};
    FATHOM_ASSIGN_OR_RETURN(net::ClientResponse r, client.request("POST", path + "/tokenize", protocol::dump(body), auth(cfg)));
    if (r.status != 200) return unavailable("POST /tokenize answered " + std::to_string(r.status) + ": " + r.body);
    Json j = Json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("tokens") || !j["tokens"].is_array()) return unavailable("POST /tokenize: unexpected body");
    if (j["tokens"].empty())
      return unavailable("POST /tokenize returned no tokens for " + std::to_string(text.size()) +
                         " bytes of text");
    for (const Json& t : j["tokens"]) pool.push_back(t.get<int32_t>());
  }
  return pool;
}

Sample run_one(net::HttpClient& client, const ServeBenchConfig& cfg, const std::string& path, std::vector<int32_t> prompt) {
  Sample s;
  Json body = {{"model", cfg.model},     {"prompt", prompt},  {"max_tokens", cfg.max_tokens},
               {"temperature", 0.0},     {"ignore_eos", true}, {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  const Clock::time_point start = Clock::now();
  Clock::time_point last{};
  bool first = true;
  std::string pending;
  std::function<void(std::string_view, Clock::time_point)> handle_event;
  auto on_event = [&](std::string_view data, Clock::time_point now) {
    if (data == "[DONE]") return;
    try {
      handle_event(data, now);
    } catch (const Json::exception& e) {
      s.error = std::string("unexpected chunk: ") + e.what();
    }
  };
  handle_event = [&](std::string_view data, Clock::time_point now) {
    Json j = Json::parse(data, nullptr, false);
    if (j.is_discarded()) return;
    if (j.contains("error")) {
      s.error = protocol::dump(j["error"]);
      return;
    }
    if (j.contains("usage") && j["usage"].is_object()) {
      s.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
      s.output_tokens = j["usage"].value("completion_tokens", int64_t{0});
    }
    if (!j.contains("choices") || j["choices"].empty()) return;
    const Json& c = j["choices"][0];
    if (!c.contains("text") || !c["text"].is_string() || c["text"].get<std::string>().empty()) return;
    if (first) {
      s.ttft_ms = ms_between(start, now);
      first = false;
    } else {
      s.itl_ms.push_back(ms_between(last, now));
    }
    last = now;
  };
  Result<net::ClientResponse> r = client.request(
      "POST", path + "/v1/completions", protocol::dump(body), auth(cfg), [&](std::string_view chunk) {
        const Clock::time_point now = Clock::now();
        pending += chunk;
        size_t end;
        while ((end = pending.find("\n\n")) != std::string::npos) {
          std::string event = pending.substr(0, end);
          pending.erase(0, end + 2);
          if (event.rfind("data: ", 0) == 0) on_event(std::string_view(event).substr(6), now);
        }
      });
  s.e2e_ms = ms_between(start, Clock::now());
  if (!r.ok()) {
    s.error = r.status().message();
  } else if (r->status != 200) {
    s.error = "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 300);
  } else if (s.error.empty()) {
    s.ok = !first;
    if (first) s.error = "no tokens streamed";
  }
  return s;
}

LatencyStats stats_of(const std::vector<double>& v) {
  LatencyStats s;
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  s.p50 = percentile(v, 50);
  s.p90 = percentile(v, 90);
  s.p99 = percentile(v, 99);
  return s;
}

Json latency_json(const LatencyStats& s) {
  return {{"mean_ms", s.mean}, {"p50_ms", s.p50}, {"p90_ms", s.p90}, {"p99_ms", s.p99}};
}

}  // namespace

double percentile(std::vector<double> values, double pct) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = pct / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

Result<ServeBenchResult> run_serve_bench_unchecked(const ServeBenchConfig& in);

Result<ServeBenchResult> run_serve_bench(const ServeBenchConfig& in) {
  // The server under test may be any OpenAI-compatible one: JSON of an unexpected shape
  // becomes a Status here instead of an exception.
  try {
    return run_serve_bench_unchecked(in);
  } catch (const Json::exception& e) {
    return unavailable(std::string("unexpected JSON from the server: ") + e.what());
  }
}

Result<ServeBenchResult> run_serve_bench_unchecked(const ServeBenchConfig& in) {
  ServeBenchConfig cfg = in;
  if (cfg.concurrency < 1 || cfg.num_requests < 1 || cfg.prompt_tokens < 1 || cfg.max_tokens < 1)
    return invalid_argument("concurrency, requests, prompt tokens and max tokens must be positive");
  FATHOM_ASSIGN_OR_RETURN(net::Url url, net::parse_url(cfg.url));
  net::HttpClient probe(url.host, url.port);
  FATHOM_ASSIGN_OR_RETURN(net::ClientResponse models, probe.request("GET", url.path + "/v1/models", "", auth(cfg)));
  if (models.status != 200) return unavailable("GET /v1/models answered " + std::to_string(models.status) + ": " + models.body);
  if (cfg.model.empty()) {
    Json j = Json::parse(models.body, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || j["data"].empty()) return unavailable("GET /v1/models: no model listed");
    cfg.model = j["data"][0].value("id", "");
  }
  const size_t n = static_cast<size_t>(cfg.prompt_tokens);
  FATHOM_ASSIGN_OR_RETURN(std::vector<int32_t> pool, token_pool(probe, cfg, url.path, n * 4 + 1024));

  std::vector<Sample> samples(static_cast<size_t>(cfg.num_requests));
  std::atomic<int32_t> next{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int32_t w = 0; w < std::min(cfg.concurrency, cfg.num_requests); ++w) {
    workers.emplace_back([&] {
      net::HttpClient client(url.host, url.port);
      for (int32_t i; (i = next.fetch_add(1)) < cfg.num_requests;) {
        const size_t offset = (static_cast<size_t>(i) * 7919u) % (pool.size() - n);
        samples[static_cast<size_t>(i)] =
            run_one(client, cfg, url.path, std::vector<int32_t>(pool.begin() + offset, pool.begin() + offset + n));
      }
    });
  }
  for (auto& t : workers) t.join();

  ServeBenchResult r;
  r.model = cfg.model;
  r.duration_s = ms_between(start, Clock::now()) / 1000.0;
  std::vector<double> ttft, tpot, itl, e2e;
  for (const Sample& s : samples) {
    if (!s.ok) {
      ++r.failed;
      if (r.first_error.empty()) r.first_error = s.error;
      continue;
    }
    ++r.completed;
    r.prompt_tokens += s.prompt_tokens;
    r.output_tokens += s.output_tokens;
    ttft.push_back(s.ttft_ms);
    e2e.push_back(s.e2e_ms);
    if (s.output_tokens > 1) tpot.push_back((s.e2e_ms - s.ttft_ms) / static_cast<double>(s.output_tokens - 1));
    itl.insert(itl.end(), s.itl_ms.begin(), s.itl_ms.end());
  }
  r.ttft = stats_of(ttft);
  r.tpot = stats_of(tpot);
  r.itl = stats_of(itl);
  r.e2e = stats_of(e2e);
  if (r.duration_s > 0) {
    r.request_throughput = r.completed / r.duration_s;
    r.output_throughput = static_cast<double>(r.output_tokens) / r.duration_s;
    r.total_token_throughput = static_cast<double>(r.prompt_tokens + r.output_tokens) / r.duration_s;
  }
  return r;
}

std::string serve_bench_json(const ServeBenchConfig& cfg, const ServeBenchResult& r) {
  Json j = {{"url", cfg.url},
            {"model", r.model},
            {"concurrency", cfg.concurrency},
            {"num_requests", cfg.num_requests},
            {"prompt_tokens_per_request", cfg.prompt_tokens},
            {"max_tokens", cfg.max_tokens},
            {"completed", r.completed},
            {"failed", r.failed},
            {"duration_s", r.duration_s},
            {"total_prompt_tokens", r.prompt_tokens},
            {"total_output_tokens", r.output_tokens},
            {"request_throughput_per_s", r.request_throughput},
            {"output_token_throughput_per_s", r.output_throughput},
            {"total_token_throughput_per_s", r.total_token_throughput},
            {"ttft", latency_json(r.ttft)},
            {"tpot", latency_json(r.tpot)},
            {"itl", latency_json(r.itl)},
            {"e2e_latency", latency_json(r.e2e)}};
  if (!r.first_error.empty()) j["first_error"] = r.first_error;
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string serve_bench_table(const ServeBenchConfig& cfg, const ServeBenchResult& r) {
  char buf[4096];
  std::string out;
  std::snprintf(buf, sizeof(buf),
                "============ Serving Benchmark Result ============\n"
                "Model:                               %s\n"
                "Concurrency / requests:              %d / %d\n"
                "Prompt / max output tokens:          %d / %d\n"
                "Successful requests:                 %d\n"
                "Failed requests:                     %d\n"
                "Benchmark duration (s):              %.2f\n"
                "Total input tokens:                  %lld\n"
                "Total generated tokens:              %lld\n"
                "Request throughput (req/s):          %.2f\n"
                "Output token throughput (tok/s):     %.2f\n"
                "Total token throughput (tok/s):      %.2f\n",
                r.model.c_str(), cfg.concurrency, cfg.num_requests, cfg.prompt_tokens, cfg.max_tokens, r.completed,
                r.failed, r.duration_s, static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.output_tokens),
                r.request_throughput, r.output_throughput, r.total_token_throughput);
  out += buf;
  auto section = [&](const char* title, const char* key, const LatencyStats& s) {
    std::snprintf(buf, sizeof(buf),
                  "---------------%s---------------\n"
                  "Mean %-6s (ms):                    %.2f\n"
                  "P50  %-6s (ms):                    %.2f\n"
                  "P90  %-6s (ms):                    %.2f\n"
                  "P99  %-6s (ms):                    %.2f\n",
                  title, key, s.mean, key, s.p50, key, s.p90, key, s.p99);
    out += buf;
  };
  section("Time to First Token", "TTFT", r.ttft);
  section("Time per Output Token (excl. 1st token)", "TPOT", r.tpot);
  section("Inter-token Latency", "ITL", r.itl);
  section("End-to-end Latency", "E2E", r.e2e);
  out += "==================================================\n";
  if (!r.first_error.empty()) out += "first error: " + r.first_error + "\n";
  return out;
}

}  // namespace fathom::server
