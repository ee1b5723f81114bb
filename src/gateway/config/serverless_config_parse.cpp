#include "gateway/config/serverless_config_parse.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "gateway/serverless/prewarm.h"

namespace fathom::gateway {
namespace {

constexpr std::array<const char*, 7> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

void parse_worker(Fields& pool, const std::string& path, const std::string& pool_name,
                  WorkerConfig& w, std::vector<std::string>& problems) {
  Fields f(pool.child("worker"), path + ".worker", problems);
  f.reject_unknown({"command", "model", "model_name", "ports", "env", "start_timeout_ms",
                    "drain_timeout_ms", "start_backoff_ms", "max_start_backoff_ms"});
  if (f.child("command")) {
    w.command.clear();
    f.get("command", w.command);
    if (w.command.empty()) f.problem("command", "must list the program and its arguments");
  }
  f.get("model", w.model);
  w.model_name = pool_name;
  f.get("model_name", w.model_name);
  if (w.model.empty()) f.problem("model", "is required (the model folder the workers serve)");
  std::string ports;
  f.get("ports", ports);
  const size_t dash = ports.find('-');
  try {
    if (dash == std::string::npos) throw std::invalid_argument(ports);
    size_t used = 0;
    w.port_from = std::stoi(ports.substr(0, dash), &used);
    if (used != dash) throw std::invalid_argument(ports);
    w.port_to = std::stoi(ports.substr(dash + 1), &used);
    if (used != ports.size() - dash - 1) throw std::invalid_argument(ports);
  } catch (const std::exception&) {  // std::stoi's errors become this problem
    w.port_from = w.port_to = 0;
  }
  if (w.port_from < 1 || w.port_to > 65535 || w.port_from > w.port_to)
    f.problem("ports", "must be a range of ports such as 20000-20099 (got '" + ports + "')");
  f.get("env", w.env);
  f.duration_ms("start_timeout_ms", w.start_timeout_ms);
  f.duration_ms("drain_timeout_ms", w.drain_timeout_ms);
  f.duration_ms("start_backoff_ms", w.start_backoff_ms);
  f.duration_ms("max_start_backoff_ms", w.max_start_backoff_ms);
  if (w.start_timeout_ms == 0) f.problem("start_timeout_ms", "must be positive");
  if (w.max_start_backoff_ms < w.start_backoff_ms)
    f.problem("max_start_backoff_ms", "must be at least start_backoff_ms");
}

PrewarmWindow parse_window(const YAML::Node& n, const std::string& path,
                           std::vector<std::string>& problems) {
  Fields f(n, path, problems);
  f.reject_unknown({"days", "from", "to", "instances"});
  PrewarmWindow w;
  if (f.child("days")) {
    std::vector<std::string> days;
    f.get("days", days);
    w.days_mask = 0;
    for (const std::string& d : days) {
      const auto it = std::find(kDays.begin(), kDays.end(), d);
      if (it == kDays.end())
        f.problem("days", "unknown day '" + d + "' (sun, mon, tue, wed, thu, fri, sat)");
      else
        w.days_mask |= static_cast<uint8_t>(1u << (it - kDays.begin()));
    }
  }
  for (auto [key, out] : {std::pair{"from", &w.from_minute}, std::pair{"to", &w.to_minute}}) {
    std::string text;
    f.get(key, text);
    if (auto m = parse_time_of_day(text); m.ok())
      *out = *m;
    else
      f.problem(key, text.empty() ? "is required (HH:MM)" : m.status().message());
  }
  if (w.from_minute == w.to_minute) f.problem("", "from and to must differ");
  f.get("instances", w.instances);
  if (w.instances < 1) f.problem("instances", "must be at least 1");
  return w;
}

void parse_prewarm(Fields& pool, const std::string& path, PrewarmConfig& p,
                   std::vector<std::string>& problems) {
  Fields f(pool.child("prewarm"), path + ".prewarm", problems);
  f.reject_unknown({"time_zone", "windows", "predict", "warmup"});
  f.get("time_zone", p.time_zone);
  if (!p.time_zone.empty())
    if (auto z = find_time_zone(p.time_zone); !z.ok()) f.problem("time_zone", z.status().message());
  const YAML::Node windows = f.child("windows");
  if (windows && !windows.IsSequence() && !windows.IsNull()) f.problem("windows", "must be a list");
  for (size_t i = 0; windows && windows.IsSequence() && i < windows.size(); ++i)
    p.windows.push_back(
        parse_window(windows[i], f.path("windows[" + std::to_string(i) + "]"), problems));
  if (!p.windows.empty() && p.time_zone.empty())
    f.problem("time_zone", "is required with windows (an IANA name such as Asia/Shanghai, or UTC)");
  Fields pr(f.child("predict"), f.path("predict"), problems);
  pr.reject_unknown({"window_ms", "min_requests_per_minute"});
  pr.duration_ms("window_ms", p.predict_window_ms);
  pr.get("min_requests_per_minute", p.predict_min_requests_per_minute);
  if (!(p.predict_min_requests_per_minute > 0))
    pr.problem("min_requests_per_minute", "must be positive");
  Fields wu(f.child("warmup"), f.path("warmup"), problems);
  wu.reject_unknown({"prompt", "requests", "max_tokens"});
  wu.get("prompt", p.warmup_prompt);
  wu.get("requests", p.warmup_requests);
  wu.get("max_tokens", p.warmup_max_tokens);
  if (p.warmup_requests < 0 || p.warmup_requests > 64) wu.problem("requests", "must be in 0..64");
  if (p.warmup_max_tokens < 1) wu.problem("max_tokens", "must be at least 1");
}

}  // namespace

const std::set<std::string>& serverless_pool_fields() {
  static const std::set<std::string> kFields = {"kind",
                                                "worker",
                                                "min_instances",
                                                "max_instances",
                                                "target_concurrency",
                                                "target_utilization_percentage",
                                                "stable_window_ms",
                                                "panic_window_percentage",
                                                "panic_threshold_percentage",
                                                "max_scale_up_rate",
                                                "max_scale_down_rate",
                                                "scale_down_delay_ms",
                                                "idle_timeout_ms",
                                                "container_concurrency",
                                                "queue",
                                                "prewarm"};
  return kFields;
}

ServerlessConfig parse_serverless_pool(Fields& f, const std::string& path,
                                       const std::string& pool_name,
                                       std::vector<std::string>& problems) {
  ServerlessConfig c;
  parse_worker(f, path, pool_name, c.worker, problems);
  AutoscalerConfig& a = c.scaling;
  f.get("min_instances", a.min_instances);
  f.get("max_instances", a.max_instances);
  if (a.min_instances < 0) f.problem("min_instances", "must be 0 (scale to zero) or more");
  if (a.max_instances < 1 || a.max_instances > 1024)
    f.problem("max_instances", "must be in 1..1024");
  if (a.min_instances > a.max_instances)
    f.problem("min_instances", "must not exceed max_instances");
  const auto positive = [&](const char* key, double& v) {
    f.get(key, v);
    if (!(v > 0)) f.problem(key, "must be positive");
  };
  positive("target_concurrency", a.target_concurrency);
  positive("target_utilization_percentage", a.target_utilization_percentage);
  positive("panic_window_percentage", a.panic_window_percentage);
  positive("panic_threshold_percentage", a.panic_threshold_percentage);
  for (auto [key, rate] : {std::pair{"max_scale_up_rate", &a.max_scale_up_rate},
                           std::pair{"max_scale_down_rate", &a.max_scale_down_rate}}) {
    f.get(key, *rate);
    if (!(*rate > 1)) f.problem(key, "must be more than 1 (Knative's rule)");
  }
  if (a.target_utilization_percentage > 100)
    f.problem("target_utilization_percentage", "must be at most 100");
  if (a.panic_window_percentage > 100) f.problem("panic_window_percentage", "must be at most 100");
  f.duration_ms("stable_window_ms", a.stable_window_ms);
  if (a.stable_window_ms < 6'000 || a.stable_window_ms > 3'600'000)
    f.problem("stable_window_ms", "must be in 6000..3600000 (Knative's bounds)");
  f.duration_ms("scale_down_delay_ms", a.scale_down_delay_ms);
  f.duration_ms("idle_timeout_ms", a.idle_timeout_ms);
  f.get("container_concurrency", c.container_concurrency);
  if (c.container_concurrency < 0)
    f.problem("container_concurrency", "must be 0 (no limit) or positive");
  Fields q(f.child("queue"), path + ".queue", problems);
  q.reject_unknown({"max_requests", "timeout_ms"});
  q.get("max_requests", c.queue_max_requests);
  q.duration_ms("timeout_ms", c.queue_timeout_ms);
  if (c.queue_max_requests < 0) q.problem("max_requests", "must be 0 or more");
  if (c.queue_timeout_ms == 0) q.problem("timeout_ms", "must be positive");
  parse_prewarm(f, path, c.prewarm, problems);
  for (const PrewarmWindow& w : c.prewarm.windows)
    if (w.instances > a.max_instances) {
      f.problem("prewarm.windows", "a window asks for more instances than max_instances");
      break;
    }
  return c;
}

}  // namespace fathom::gateway
