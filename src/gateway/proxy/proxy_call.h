// One proxied completion request: picks an upstream, forwards the request, retries on another
// upstream while nothing has reached the client, passes a stream through event by event
// (taking the usage from its final chunk), then settles quota, ledger and metrics once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "base/clock.h"
#include "gateway/classify/classifier.h"
#include "gateway/classify/redactor.h"
#include "gateway/config/gateway_config.h"
#include "gateway/policy/output_filter.h"
#include "gateway/proxy/sse_parser.h"
#include "gateway/quota/quota_table.h"
#include "gateway/security/key_store.h"
#include "gateway/serverless/worker_pool.h"
#include "net/exchange.h"
#include "net/stream_client.h"

namespace fathom::gateway {

class GatewayService;
struct Routing;
struct ModelRoute;
struct Upstream;

/// Appended to the cache key of an answer a cloud pool gave.
inline constexpr const char* kCloudCacheSuffix = "#cloud";

struct ProxyRequest {
  std::string route;  ///< "/v1/chat/completions", "/v1/completions" or "/v1/responses"
  const ModelRoute* model = nullptr;
  nlohmann::json body;     ///< the client's request
  std::string client_model;  ///< as the client named it (maybe an alias)
  bool stream = false;
  bool client_wants_usage = false;
  std::string cache_key;   ///< non-empty when the response may be cached
  std::string affinity_key;
  int64_t prompt_estimate = 0;  ///< prompt tokens guessed from its size (for partial billing)
  KeyInfo key;
  QuotaSlot slot;          ///< the admitted quota: released by settle() or on destruction
  policy::Policy policy;   ///< the tenant's and key's (already applied to `body`)
  std::optional<classify::Classification> classification;  ///< routing, access and audit logs
  /// Redact mode: `body` with its entities replaced, sent instead of it to a cloud pool.
  struct Redacted {
    nlohmann::json body;
    classify::Redaction redaction;
  };
  std::optional<Redacted> redacted;
  bool sensitive() const { return classification && classification->sensitive; }
  /// Sensitive and not redactable: never sent to a cloud pool.
  bool on_prem_only() const { return sensitive() && !redacted; }
};

class ProxyCall : public std::enable_shared_from_this<ProxyCall> {
 public:
  ProxyCall(GatewayService& svc, std::shared_ptr<const Routing> routing, std::shared_ptr<net::Exchange> ex,
            ProxyRequest req);
  void start();

 private:
  void attempt();
  Upstream* pick();
  void send_to(Upstream* u);
  // Serverless pools (the activator): a lease on an instance, now or once one has room.
  void attempt_serverless();
  void on_worker(Result<WorkerLease> lease);
  void on_queue_timeout(uint64_t ticket);
  void on_head(int status);
  void on_body(std::string_view piece);
  void on_done(const Status& s, bool head_seen);
  void forward_event(const std::string& event);
  void take_usage(const nlohmann::json& response_or_chunk);
  void count_content_chunk();
  void cut_stream();
  void note_filtered();
  void begin_client_stream();
  void on_request_timeout();
  void respond_failure(int status, const std::string& code, const std::string& message,
                       int64_t retry_after_s = 0);
  void settle(int status, std::function<void()> release);
  double seconds_since(Clock::TimePoint t) const;

  GatewayService& svc_;
  std::shared_ptr<const Routing> routing_;
  std::shared_ptr<net::Exchange> ex_;
  ProxyRequest req_;
  const std::string request_id_;  // the ledger's key, the access log's and x-request-id

  std::mutex mu_;
  std::set<Upstream*> tried_;
  Upstream* current_ = nullptr;
  Zone zone_ = Zone::kOnPrem;  // current_'s pool's zone
  std::string route_;          // why current_'s pool (primary, fallback: ..., burst: ...)
  // Set while current_ is a cloud upstream that got the redacted body: restores its answer.
  std::optional<classify::ChunkRestorer> restorer_;
  std::shared_ptr<net::StreamRequest> upstream_req_;
  int upstream_status_ = 0;
  bool streaming_ = false;       // the client has the 200 head of an event stream
  bool events_sent_ = false;     // ... and at least one of its events: no more retries
  bool client_gone_ = false;
  bool timed_out_ = false;       // timeouts.request_ms passed
  bool oversized_ = false;       // the upstream's event outgrew SseParser::kMaxEventBytes
  std::optional<policy::StreamFilter> filter_;  // the policy's content rules on a stream
  bool filtered_ = false;                       // ... cut it: the client has its content_filter end
  bool settled_ = false;
  std::string body_;             // non-stream (or failed) upstream body
  SseParser sse_;
  int64_t prompt_tokens_ = 0, completion_tokens_ = 0, cached_tokens_ = 0;
  bool usage_seen_ = false;
  std::string error_;            // the error message answered, for the access log
  bool done_seen_ = false;       // the upstream sent [DONE] (held until the ledger commit)
  int64_t content_chunks_ = 0;
  Clock::TimePoint started_, attempt_started_;
  std::optional<double> ttft_s_;
  double upstream_s_ = 0;
  Clock::Duration upstream_time_{};  // exact: what a per_compute plan bills
  // Serverless: the model's pool, the instance leased for the current attempt (and its
  // Upstream, kept while the call lives: current_ may point at it after the instance is gone),
  // the activator ticket while queued, and the time waited there over all attempts.
  WorkerPool* worker_pool_ = nullptr;
  std::optional<WorkerLease> lease_;
  std::shared_ptr<Upstream> leased_upstream_;
  uint64_t ticket_ = 0;
  std::optional<Clock::Duration> cold_start_;
};

}  // namespace fathom::gateway
