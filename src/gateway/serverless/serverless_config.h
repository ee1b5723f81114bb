// A `kind: serverless` pool: the gateway starts and stops `fathom serve` worker processes itself
// (scale to zero, cold start, prewarming). See docs/serverless.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fathom::gateway {

/// The autoscaler's knobs, with Knative KPA's names and defaults where they apply
/// (container-concurrency-target-default, stable-window, panic-window-percentage, ...).
struct AutoscalerConfig {
  double target_concurrency = 100;            ///< requests per instance the scaler aims at
  double target_utilization_percentage = 70;  ///< of target_concurrency
  int64_t stable_window_ms = 60'000;
  double panic_window_percentage = 10;      ///< of the stable window
  double panic_threshold_percentage = 200;  ///< panic when the panic window wants 2x ready
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  int64_t scale_down_delay_ms = 0;   ///< a lower instance count must hold this long first
  int64_t idle_timeout_ms = 30'000;  ///< no request for this long before the last instance goes
  int32_t min_instances = 0;         ///< 0: scale to zero
  int32_t max_instances = 1;
};

/// A schedule window in which the pool keeps `instances` ready (in PrewarmConfig::time_zone).
struct PrewarmWindow {
  uint8_t days_mask = 0x7f;  ///< bit 0 = Sunday ... bit 6 = Saturday
  int32_t from_minute = 0;   ///< minutes after local midnight; from > to wraps past midnight
  int32_t to_minute = 0;
  int32_t instances = 1;
};

struct PrewarmConfig {
  std::string time_zone;  ///< IANA name ("Asia/Shanghai"); required with windows
  std::vector<PrewarmWindow> windows;
  /// Predicted from the request rate: while the last `predict_window_ms` saw at least
  /// `predict_min_requests_per_minute`, keep the instances Little's law asks for (at least 1).
  int64_t predict_window_ms = 0;  ///< 0: off
  double predict_min_requests_per_minute = 1;
  /// Warm-up before an instance takes traffic: `warmup_requests` concurrent completions of
  /// `warmup_prompt` (first-touch page faults and allocations are paid here, not by a user).
  std::string warmup_prompt = "Hello";
  int32_t warmup_requests = 1;
  int32_t warmup_max_tokens = 1;
};

/// How to run one worker process.
struct WorkerConfig {
  /// argv template: {fathom} (this binary), {model}, {port}, {host}, {model_name}.
  std::vector<std::string> command = {
      "{fathom}",     "serve",  "--model", "{model}", "--served-model-name",
      "{model_name}", "--host", "{host}",  "--port",  "{port}"};
  std::string model;       ///< the model folder, for {model}
  std::string model_name;  ///< the name sent upstream (warm-up requests too); empty: the client's
  int32_t port_from = 0, port_to = 0;      ///< ports: "20000-20099"
  std::map<std::string, std::string> env;  ///< added to the gateway's environment
  int64_t start_timeout_ms = 60'000;       ///< healthy (and warmed up) within this, or killed
  int64_t drain_timeout_ms = 30'000;       ///< after SIGTERM, SIGKILL past this
  int64_t start_backoff_ms = 1'000;        ///< after a failed start, doubling up to the max
  int64_t max_start_backoff_ms = 30'000;
};

struct ServerlessConfig {
  WorkerConfig worker;
  AutoscalerConfig scaling;
  PrewarmConfig prewarm;
  /// Most requests one instance takes at once (Knative containerConcurrency); 0: no limit.
  int32_t container_concurrency = 0;
  /// The activator: requests wait here (bounded) while no instance has room.
  int64_t queue_max_requests = 100;
  int64_t queue_timeout_ms = 60'000;
};

}  // namespace fathom::gateway
