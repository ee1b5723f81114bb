// What the HTTP side counts itself (the engine keeps its own EngineStats), and the Prometheus
// text rendering of both: fathom_* names always, vLLM's names too with --metrics-names vllm.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/engine.h"

namespace fathom::server {

struct ServerMetricsSnapshot {
  std::map<std::string, int64_t> requests_finished;  ///< by finish reason the client saw
  std::map<int, int64_t> http_responses;             ///< by HTTP status
  int64_t client_disconnects = 0;
  int64_t active_exchanges = 0;
  int64_t open_connections = 0;
};

/// Thread-safe counters.
class ServerMetrics {
 public:
  void count_finish(const std::string& reason);
  void count_http_status(int status);
  void count_client_disconnect();
  ServerMetricsSnapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  ServerMetricsSnapshot s_;
};

enum class MetricsNames { kFathom, kFathomAndVllm };

/// vllm:lora_requests_info: the adapter slots and the adapters of running and waiting requests
/// (the Gateway API Inference Extension routes by it). Its value is the time it was taken.
struct LoraRequestsInfo {
  int32_t max_lora = 0;
  double timestamp_s = 0;  ///< seconds since the epoch
};

/// Prometheus text exposition format 0.0.4. `engine` is null while the model loads; `lora` is
/// null when the server serves no adapters.
std::string render_metrics(const engine::EngineStats* engine, const ServerMetricsSnapshot& server,
                           const std::string& model_name, MetricsNames names,
                           const LoraRequestsInfo* lora = nullptr);

}  // namespace fathom::server
