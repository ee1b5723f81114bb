#include "gateway/serverless/pool_admin.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "gateway/proxy/errors.h"
#include "json/json_fields.h"

namespace fathom::gateway {
namespace {

net::HttpResponse json_answer(const nlohmann::json& j) {
  net::HttpResponse r;
  r.body = j.dump();
  return r;
}

nlohmann::json to_json(const PoolStatus& s) {
  nlohmann::json instances = nlohmann::json::array();
  for (const InstanceStatus& i : s.instances)
    instances.push_back({{"id", i.id},
                         {"pid", i.pid},
                         {"port", i.port},
                         {"state", i.state},
                         {"in_flight", i.in_flight}});
  return {{"name", s.name},       {"instances", instances},
          {"queued", s.queued},   {"desired", s.desired},
          {"floor", s.floor},     {"panicking", s.panicking},
          {"starts", s.starts},   {"start_failures", s.start_failures},
          {"crashes", s.crashes}, {"last_error", s.last_error}};
}

// POST /admin/pools/{name}/prewarm
net::HttpResponse prewarm(const net::HttpRequest& req, WorkerPool& pool) {
  auto body = json::parse_json_object<nlohmann::json>(req.body.empty() ? "{}" : req.body);
  if (!body.ok()) return error_response(400, "invalid_request_error", body.status().message());
  auto instances = json::get_integer(*body, "instances");
  if (!instances.ok()) return field_error_response(instances.status());
  auto hold = json::get_integer(*body, "hold_ms");
  if (!hold.ok()) return field_error_response(hold.status());
  const int64_t n = instances->value_or(1);
  const int64_t max = pool.config().scaling.max_instances;
  if (n < 0 || n > max)
    return error_response(
        400, "invalid_request_error",
        "instances must be in 0.." + std::to_string(max) + " (the pool's max_instances)", "",
        "instances");
  const int64_t hold_ms = hold->value_or(pool.config().scaling.idle_timeout_ms);
  if (hold_ms < 0 || hold_ms > 365LL * 24 * 3600 * 1000)
    return error_response(400, "invalid_request_error", "hold_ms must be in 0..31536000000", "",
                          "hold_ms");
  pool.prewarm(static_cast<int32_t>(n), hold_ms);
  return json_answer(to_json(pool.status()));
}

// POST /admin/test/clock
net::HttpResponse advance_clock(const net::HttpRequest& req, const WorkerPools& pools,
                                FakeClock& clock) {
  auto body = json::parse_json_object<nlohmann::json>(req.body);
  if (!body.ok()) return error_response(400, "invalid_request_error", body.status().message());
  auto ms = json::get_integer(*body, "advance_ms");
  if (!ms.ok()) return field_error_response(ms.status());
  if (!*ms || **ms < 0 || **ms > 365LL * 24 * 3600 * 1000)
    return error_response(400, "invalid_request_error", "advance_ms is required, in 0..31536000000",
                          "", "advance_ms");
  clock.advance(std::chrono::milliseconds(**ms));
  for (const auto& [name, pool] : pools) pool->step_and_wait();
  const auto wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall_now().time_since_epoch());
  return json_answer({{"wall_ms", wall.count()}});
}

}  // namespace

std::optional<net::HttpResponse> handle_pool_admin(const net::HttpRequest& req,
                                                   const WorkerPools& pools,
                                                   FakeClock* test_clock) {
  if (req.path == "/admin/test/clock" && test_clock && req.method == "POST")
    return advance_clock(req, pools, *test_clock);
  if (req.method == "GET" && req.path == "/admin/pools") {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& [name, pool] : pools) data.push_back(to_json(pool->status()));
    return json_answer({{"data", data}});
  }
  const std::string prefix = "/admin/pools/", suffix = "/prewarm";
  if (req.path.rfind(prefix, 0) != 0) return std::nullopt;
  std::string rest = req.path.substr(prefix.size());
  const bool is_prewarm = rest.size() > suffix.size() && rest.ends_with(suffix);
  const std::string name = is_prewarm ? rest.substr(0, rest.size() - suffix.size()) : rest;
  auto it = pools.find(name);
  if (it == pools.end())
    return error_response(404, "invalid_request_error", "no serverless pool named '" + name + "'");
  if (is_prewarm && req.method == "POST") return prewarm(req, *it->second);
  if (!is_prewarm && req.method == "GET") return json_answer(to_json(it->second->status()));
  return std::nullopt;
}

std::string render_pool_metrics(const WorkerPools& pools) {
  if (pools.empty()) return "";
  std::string out;
  const auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  std::map<std::string, PoolStatus> status;
  for (const auto& [name, pool] : pools) status[name] = pool->status();
  const auto label = [](const std::string& pool) { return "{pool=\"" + pool + "\""; };
  family("fathom_gateway_serverless_instances", "gauge",
         "Worker instances of a serverless pool, by state.");
  for (const auto& [name, s] : status)
    for (const char* state : {"starting", "ready", "draining", "failed"}) {
      int64_t n = 0;
      for (const InstanceStatus& i : s.instances) n += i.state == state;
      out += "fathom_gateway_serverless_instances" + label(name) + ",state=\"" + state + "\"} " +
             std::to_string(n) + "\n";
    }
  const auto per_pool = [&](const char* name, const char* type, const char* help, auto value) {
    family(name, type, help);
    for (const auto& [pool, s] : status)
      out += name + label(pool) + "} " + std::to_string(value(s)) + "\n";
  };
  per_pool("fathom_gateway_serverless_queued_requests", "gauge",
           "Requests waiting in the activator for an instance with room.",
           [](const PoolStatus& s) { return s.queued; });
  per_pool("fathom_gateway_serverless_desired_instances", "gauge",
           "The autoscaler's current decision.", [](const PoolStatus& s) { return s.desired; });
  per_pool("fathom_gateway_serverless_instance_starts_total", "counter", "Instances started.",
           [](const PoolStatus& s) { return s.starts; });
  per_pool("fathom_gateway_serverless_instance_start_failures_total", "counter",
           "Starts that failed (exited, or not healthy within start_timeout_ms).",
           [](const PoolStatus& s) { return s.start_failures; });
  per_pool("fathom_gateway_serverless_instance_crashes_total", "counter",
           "Ready instances that died.", [](const PoolStatus& s) { return s.crashes; });
  family("fathom_gateway_cold_start_seconds", "histogram",
         "Time requests waited in the activator (an instance starting, or every instance full).");
  char buf[64];
  for (const auto& [pool, s] : status) {
    const HistogramSnapshot& h = s.cold_start;
    uint64_t cum = 0;
    for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
      cum += h.bucket_counts[i];
      std::snprintf(buf, sizeof(buf), "%g", h.upper_bounds[i]);
      out += "fathom_gateway_cold_start_seconds_bucket" + label(pool) + ",le=\"" + buf + "\"} " +
             std::to_string(cum) + "\n";
    }
    cum += h.bucket_counts.back();
    out += "fathom_gateway_cold_start_seconds_bucket" + label(pool) + ",le=\"+Inf\"} " +
           std::to_string(cum) + "\n";
    std::snprintf(buf, sizeof(buf), "%.9g", h.sum);
    out += "fathom_gateway_cold_start_seconds_sum" + label(pool) + "} " + buf + "\n";
    out += "fathom_gateway_cold_start_seconds_count" + label(pool) + "} " +
           std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace fathom::gateway
