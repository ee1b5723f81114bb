// Structured access logs: one JSON line per request the gateway answered, with who (tenant,
// key id, never the key), what (route, model, upstream, status), how much (tokens, cost) and
// how long (total, upstream, time to first token). Never the prompt or the completion.
//   {"ts":"2026-11-28T04:50:00.123Z","request_id":"...","method":"POST","path":"/v1/chat/completions",
//    "status":200,"tenant":"acme","key_id":"6f21c4d342bc","model":"deepseek-chat",...}
// Lines are buffered and written by a helper thread every 200 ms, so the request path never
// waits for a write.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/status.h"
#include "gateway/billing/ledger.h"
#include "gateway/classify/classifier.h"

namespace fathom::gateway {

struct AccessRecord {
  std::string method, path;
  UsageRecord usage;  ///< request id, status, tenant, key id, model, upstream, tokens, cost
  bool stream = false;
  double duration_ms = 0, upstream_ms = 0;
  std::optional<double> ttft_ms;
  std::string cache;  ///< "hit", "miss", or empty when the request was not cacheable
  int attempts = 0;   ///< upstreams tried
  std::string error;  ///< the error message returned, for non-2xx answers
  /// Set when classification is on: "sensitive", and which detectors fired and why (counts
  /// only, never the matched text).
  std::optional<classify::Classification> classification;
  /// The routing decision: the zone that served (on_prem, cloud) and why that pool (primary,
  /// fallback: ..., burst: ..., sensitive: ...). Empty when no upstream was tried.
  std::string zone, route;
  int redacted = 0;  ///< entities replaced by placeholders in what was sent (redact mode)
  /// Serverless pools: how long the request waited in the activator, and its exact time on
  /// instances (what a per_compute plan bills, before rounding).
  std::optional<double> cold_start_ms;
  std::optional<double> instance_ms;
};

class AccessLog {
 public:
  /// "stdout", "stderr", "off", or a file to append to.
  static Result<std::unique_ptr<AccessLog>> open(const std::string& destination);
  ~AccessLog();  ///< writes what is buffered

  void write(const AccessRecord& r);

 private:
  AccessLog() = default;
  void loop();
  void flush(std::string& bytes);

  int fd_ = -1;  // -1: off
  bool owns_fd_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace fathom::gateway
