#include "gateway/proxy/proxy_call.h"

#include <chrono>
#include <utility>

#include "base/logging.h"
#include "gateway/gateway_service.h"
#include "gateway/proxy/errors.h"
#include "gateway/security/zone_audit.h"
#include "json/json_fields.h"

namespace fathom::gateway {
namespace {

// The type of a Responses API event whose JSON begins with it, as servers write them
// ({"type":"response.output_text.delta",...}): it becomes the event's SSE "event:" line again.
// "" otherwise (the event then goes out with its data alone, which clients accept too).
std::string leading_event_type(std::string_view data) {
  constexpr std::string_view kPrefix = "{\"type\":\"";
  if (!data.starts_with(kPrefix)) return "";
  const size_t end = data.find('"', kPrefix.size());
  if (end == std::string_view::npos) return "";
  const std::string_view type = data.substr(kPrefix.size(), end - kPrefix.size());
  return type.find('\\') == std::string_view::npos ? std::string(type) : "";
}

}  // namespace

ProxyCall::ProxyCall(GatewayService& svc, std::shared_ptr<const Routing> routing,
                     std::shared_ptr<net::Exchange> ex, ProxyRequest req)
    : svc_(svc), routing_(std::move(routing)), ex_(std::move(ex)), req_(std::move(req)),
      request_id_(svc_.next_request_id(req_.key.key_id)) {}

double ProxyCall::seconds_since(Clock::TimePoint t) const {
  return std::chrono::duration<double>(svc_.clock().now() - t).count();
}

void ProxyCall::start() {
  started_ = svc_.clock().now();
  if (req_.stream && req_.policy.filters_output()) filter_.emplace(req_.policy, req_.route);
  worker_pool_ = svc_.worker_pool(req_.model->pool);
  std::weak_ptr<ProxyCall> weak = shared_from_this();
  ex_->on_disconnect([weak] {
    if (auto self = weak.lock()) {
      std::shared_ptr<net::StreamRequest> up;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->client_gone_ = true;
        up = self->upstream_req_;
        if (self->ticket_) {  // left while waiting for an instance: nothing to bill but the wait
          self->worker_pool_->cancel(std::exchange(self->ticket_, 0));
          self->settle(499, nullptr);
        }
      }
      if (up) up->cancel();  // on_done settles with what was streamed so far
    }
  });
  const GatewayConfig& cfg = routing_->cfg;
  // A stream whose upstream is slow to answer gets its 200 head (and from then on SSE
  // keep-alive comments) after keepalive_comment_ms, so idle timeouts between the client and
  // us do not cut it while the first token is awaited.
  if (req_.stream && cfg.keepalive_comment_ms > 0) {
    ex_->post_after(cfg.keepalive_comment_ms, [weak] {
      if (auto self = weak.lock()) {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->begin_client_stream();
      }
    });
  }
  if (cfg.request_timeout_ms > 0) {
    ex_->post_after(cfg.request_timeout_ms, [weak] {
      if (auto self = weak.lock()) self->on_request_timeout();
    });
  }
  std::lock_guard<std::mutex> lock(mu_);
  attempt();
}

// Called with mu_ held.
void ProxyCall::begin_client_stream() {
  if (streaming_ || settled_ || client_gone_) return;
  streaming_ = true;
  std::vector<std::pair<std::string, std::string>> headers;
  if (cold_start_)  // known once an instance was leased (not while the stream waits for one)
    headers.emplace_back(
        "x-fathom-cold-start-ms",
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(*cold_start_).count()));
  ex_->begin_stream(routing_->cfg.keepalive_comment_ms, std::move(headers));
}

void ProxyCall::on_request_timeout() {
  std::shared_ptr<net::StreamRequest> up;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (settled_) return;
    timed_out_ = true;
    up = upstream_req_;
    if (ticket_) {  // still waiting for a serverless instance
      worker_pool_->cancel(std::exchange(ticket_, 0));
      return respond_failure(504, "timeout",
                             "the request took longer than timeouts.request_ms (" +
                                 std::to_string(routing_->cfg.request_timeout_ms) +
                                 " ms) waiting for an instance");
    }
  }
  if (up) up->cancel();  // on_done answers 504 (or ends the stream with an error event)
}

// The model's pool first, then its fallbacks (each pool visited once). A sensitive request
// never reaches a cloud pool, on a retry neither, unless redact mode may send it there
// redacted (then it is routed like any other). A request that is not sensitive passes over
// a saturated pool that has a fallback (bursting to the cloud), and comes back to it when the
// fallback has nothing either. The decision and its reason are kept in zone_ and route_.
Upstream* ProxyCall::pick() {
  const bool sensitive = req_.on_prem_only();
  std::set<std::string> visited;
  std::string name = req_.model->pool;
  std::string why = sensitive ? "sensitive: on-prem pools only" : "primary";
  UpstreamPool* saturated = nullptr;
  const auto chosen = [&](UpstreamPool& p, Upstream* u, std::string reason) {
    zone_ = p.zone();
    route_ = std::move(reason);
    return u;
  };
  while (!name.empty() && visited.insert(name).second) {
    auto it = routing_->pools.find(name);
    if (it == routing_->pools.end()) break;
    UpstreamPool& p = *it->second;
    name = p.fallback();
    if (sensitive && p.zone() == Zone::kCloud) continue;
    if (!sensitive && !saturated && !p.fallback().empty()) {
      if (std::optional<std::string> busy = p.burst_reason()) {
        saturated = &p;
        why = "burst: pool " + p.name() + " saturated (" + *busy + ")";
        continue;
      }
    }
    if (Upstream* u = p.pick(req_.affinity_key, svc_.next_random(), tried_))
      return chosen(p, u, why);
    if (!sensitive && why == "primary")
      why = "fallback: pool " + p.name() + " had no eligible upstream";
  }
  if (saturated)
    if (Upstream* u = saturated->pick(req_.affinity_key, svc_.next_random(), tried_))
      return chosen(*saturated, u, "primary: nothing to burst to");
  return nullptr;
}

// Called with mu_ held.
void ProxyCall::attempt() {
  if (worker_pool_) return attempt_serverless();
  Upstream* u = pick();
  if (!u && req_.on_prem_only()) {
    respond_failure(
        503, "no_on_prem_upstream",
        "no on-prem upstream is available for model '" + req_.model->name +
            "', and this request is classified sensitive: it is never sent to a cloud pool");
    return;
  }
  if (!u) {
    respond_failure(503, "no_healthy_upstream",
                    "no healthy upstream for model '" + req_.model->name + "' (pool " + req_.model->pool + ")");
    return;
  }
  send_to(u);
}

// Called with mu_ held: a lease now, or a place in the activator's queue (bounded, with
// queue.timeout_ms) while an instance starts. A stream that waits gets its head and keep-alive
// comments after keepalive_comment_ms like any slow upstream.
void ProxyCall::attempt_serverless() {
  zone_ = Zone::kOnPrem;
  route_ = "primary";
  auto got = worker_pool_->acquire([self = shared_from_this()](Result<WorkerLease> lease) {
    // From the pool's thread or another request's: hop to this connection's loop. The lease
    // rides in a shared_ptr (std::function needs a copyable callable); dropped, it is released.
    auto held = std::make_shared<Result<WorkerLease>>(std::move(lease));
    self->ex_->post([self, held] {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->on_worker(std::move(*held));
    });
  });
  if (!got.ok()) return respond_failure(503, "queue_full", got.status().message(), 1);
  if (got->lease) return on_worker(std::move(*got->lease));
  ticket_ = got->ticket;
  std::weak_ptr<ProxyCall> weak = shared_from_this();
  ex_->post_after(worker_pool_->config().queue_timeout_ms, [weak, t = ticket_] {
    if (auto self = weak.lock()) self->on_queue_timeout(t);
  });
}

void ProxyCall::on_queue_timeout(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ticket_ != ticket || settled_) return;
  ticket_ = 0;
  worker_pool_->cancel(ticket);
  const PoolStatus status = worker_pool_->status();
  respond_failure(503, "no_instance_ready",
                  "no instance of serverless pool " + worker_pool_->name() +
                      " had room within queue.timeout_ms (" +
                      std::to_string(worker_pool_->config().queue_timeout_ms) + " ms)" +
                      (status.last_error.empty() ? "" : "; last problem: " + status.last_error),
                  1);
}

// Called with mu_ held, with the activator's answer.
void ProxyCall::on_worker(Result<WorkerLease> lease) {
  ticket_ = 0;
  if (settled_ || client_gone_) return;  // gave up meanwhile: the lease goes back
  if (!lease.ok()) return respond_failure(503, "no_instance_ready", lease.status().message(), 1);
  cold_start_ = cold_start_.value_or(Clock::Duration::zero()) + lease->waited();
  leased_upstream_ = lease->shared_upstream();
  lease_ = std::move(*lease);
  send_to(leased_upstream_.get());
}

// Called with mu_ held: sends this attempt to `u`.
void ProxyCall::send_to(Upstream* u) {
  tried_.insert(u);
  current_ = u;
  ++u->outstanding;
  ++u->requests_total;
  upstream_status_ = 0;
  body_.clear();
  sse_ = SseParser();
  oversized_ = false;
  attempt_started_ = svc_.clock().now();

  // The client's body, edited in place for this upstream (a retry edits it again); a cloud
  // upstream gets the redacted one when there is one, and its answer is restored.
  const bool redact = zone_ == Zone::kCloud && req_.redacted;
  if (redact)
    restorer_.emplace(&req_.redacted->redaction);
  else
    restorer_.reset();
  nlohmann::json& body = redact ? req_.redacted->body : req_.body;
  body["model"] = u->model.empty() ? req_.client_model : u->model;
  // Chat and completions streams: we bill from the final chunk (stream_options is an object or
  // null here). A Responses stream always ends with its usage, in response.completed.
  if (req_.stream && req_.route != "/v1/responses") {
    if (!body["stream_options"].is_object()) body["stream_options"] = nlohmann::json::object();
    body["stream_options"]["include_usage"] = true;
  }
  const GatewayConfig& cfg = routing_->cfg;
  const std::string target = u->url.path + req_.route;
  std::weak_ptr<ProxyCall> weak = shared_from_this();
  net::StreamCallbacks cb;
  cb.on_head = [weak](int status, const std::map<std::string, std::string>&) {
    if (auto self = weak.lock()) self->on_head(status);
  };
  cb.on_body = [weak](std::string_view piece) {
    if (auto self = weak.lock()) self->on_body(piece);
  };
  // Holds a strong reference: the call lives until its upstream request is done.
  cb.on_done = [self = shared_from_this()](const Status& s, bool head_seen) { self->on_done(s, head_seen); };
  net::StreamSpec spec;
  spec.url = u->url;
  spec.target = target;
  spec.headers = {{"content-type", "application/json"}};
  spec.body = json::dump(body);
  spec.timeouts = {5'000, cfg.first_byte_timeout_ms, cfg.idle_timeout_ms};
  spec.io_index = ex_->io_index();  // the client's loop: the whole request stays on one thread
  upstream_req_ = svc_.client().start(std::move(spec), std::move(cb));
}

void ProxyCall::on_head(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  upstream_status_ = status;
  current_->head_latency.add(seconds_since(attempt_started_) * 1000);  // the p95 burst trigger
  if (status == 200 && req_.stream) begin_client_stream();
}

void ProxyCall::on_body(std::string_view piece) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!streaming_ || upstream_status_ != 200) {
    if (body_.size() < (64u << 20)) body_.append(piece);
    return;
  }
  for (const std::string& data : sse_.feed(piece)) forward_event(data);
  if (sse_.overflowed() && !oversized_) {  // stop reading it; on_done answers the error
    oversized_ = true;
    ex_->post([up = upstream_req_] {
      if (up) up->cancel();
    });
  }
}

// Called with mu_ held, for each upstream event of a stream that reached the client.
void ProxyCall::forward_event(const std::string& event) {
  if (filtered_) return;  // cut by the policy: nothing more of the upstream's
  // [DONE] is held back: released with the end of the stream, after the ledger commit.
  if (event == "[DONE]") {
    done_seen_ = true;
    return;
  }
  events_sent_ = true;
  std::string restored;
  if (restorer_) {  // redacted: every chunk is read, its placeholders put back
    nlohmann::json chunk = nlohmann::json::parse(event, nullptr, false);
    if (chunk.is_object()) {
      restorer_->restore(chunk);
      restored = json::dump(chunk);
    }
  }
  const std::string& data = restored.empty() ? event : restored;
  if (filter_ && !filter_->pass(nlohmann::json::parse(data, nullptr, false))) return cut_stream();
  // Most events are content chunks without usage: they pass untouched, and parsing each of
  // them was the gateway's largest cost with thousands of streams open. Only an event that
  // mentions "usage" is parsed.
  const bool responses = req_.route == "/v1/responses";
  std::string type = responses ? leading_event_type(data) : std::string();  // the SSE event line
  if (data.find("\"usage\"") == std::string::npos) {
    if (responses ? type.ends_with(".delta") : chunk_has_choices(data)) count_content_chunk();
    ex_->send_event(data, std::move(type));
    return;
  }
  nlohmann::json chunk = nlohmann::json::parse(data, nullptr, false);
  if (chunk.is_discarded() || responses) {  // not JSON, or a Responses event: passed on untouched
    if (responses)
      take_usage(chunk.is_object() ? chunk.value("response", nlohmann::json()) : nlohmann::json());
    ex_->send_event(data, std::move(type));
    return;
  }
  take_usage(chunk);
  const bool has_choices = chunk.contains("choices") && chunk["choices"].is_array() && !chunk["choices"].empty();
  if (has_choices) count_content_chunk();
  if (!req_.client_wants_usage && chunk.contains("usage")) {
    if (!has_choices) return;  // the usage-only chunk the client did not ask for
    chunk.erase("usage");
    ex_->send_event(chunk.dump());
    return;
  }
  ex_->send_event(data);
}

// Called with mu_ held: the event in hand would complete text the policy's content rules block.
// It is dropped, the client gets the content_filter end, and the upstream request is cancelled
// (on_done then ends the stream).
void ProxyCall::cut_stream() {
  filtered_ = true;
  note_filtered();
  ex_->send_event(filter_->final_event(),
                  req_.route == "/v1/responses" ? "response.incomplete" : "");
  ex_->post([up = upstream_req_] {
    if (up) up->cancel();
  });
}

// Called with mu_ held: the answer broke the policy's content rules (access log and metrics).
void ProxyCall::note_filtered() {
  error_ = "content_filter: the answer broke the content policy of " + req_.policy.owner();
  svc_.metrics().policy_action(req_.key.tenant, "output_filtered");
}

// Called with mu_ held: one chunk of the answer reached the client (TTFT, partial billing).
void ProxyCall::count_content_chunk() {
  ++content_chunks_;
  if (!ttft_s_) ttft_s_ = seconds_since(started_);
}

void ProxyCall::on_done(const Status& s, bool /*head_seen*/) {
  std::lock_guard<std::mutex> lock(mu_);
  upstream_req_.reset();
  Upstream* u = current_;
  --u->outstanding;
  const Clock::Duration attempt_time = svc_.clock().now() - attempt_started_;
  upstream_time_ += attempt_time;
  upstream_s_ += std::chrono::duration<double>(attempt_time).count();
  const bool upstream_failed = !s.ok() || upstream_status_ >= 500;
  // A serverless instance's slot goes back at the end of this attempt (a retry leases again).
  // A request it failed at the transport level (reset, refused, or silent past the first-byte
  // or idle timeout), not one we cut, means it is broken: it is killed and replaced.
  const std::optional<WorkerLease> lease = std::exchange(lease_, std::nullopt);
  if (worker_pool_ && !s.ok() && !client_gone_ && !timed_out_ && !oversized_ && !filtered_)
    worker_pool_->report_failure(u);
  if (client_gone_) {  // the client left: bill what was produced, nothing to answer
    u->breaker.record(Outcome::kSuccess);
    settle(499, nullptr);
    return;
  }
  if (filtered_) {  // cut by the policy, not by a fault of the upstream's
    u->breaker.record(Outcome::kSuccess);
    settle(200, [ex = ex_, done = req_.route != "/v1/responses"] {
      if (done) ex->send_event("[DONE]");
      ex->end_stream();
    });
    return;
  }
  if (timed_out_) {
    respond_failure(504, "timeout", "the request took longer than timeouts.request_ms (" +
                                        std::to_string(routing_->cfg.request_timeout_ms) + " ms)");
    return;
  }
  if (upstream_failed) {
    ++u->failures_total;
    u->breaker.record(Outcome::kFailure);
  } else {
    u->breaker.record(Outcome::kSuccess);
  }
  // Nothing of the answer reached the client yet (at most a stream's head and keep-alive
  // comments): another upstream may still answer.
  // An upstream that sent an endless event is broken, not busy: no retry, its own error.
  if (upstream_failed && !events_sent_ && !oversized_ &&
      static_cast<int32_t>(tried_.size()) < routing_->cfg.max_attempts &&
      svc_.take_retry(routing_->cfg.retry_budget_ratio)) {
    svc_.metrics().retried();
    FATHOM_LOG(kWarning) << "upstream " << u->id << " failed ("
                         << (s.ok() ? "HTTP " + std::to_string(upstream_status_) : s.message()) << "); retrying";
    attempt();
    return;
  }
  if (oversized_) {
    respond_failure(502, "upstream_error",
                    "upstream " + u->id + " sent an event over " +
                        std::to_string(SseParser::kMaxEventBytes >> 20) + " MiB");
    return;
  }
  if (!s.ok() && worker_pool_ && !events_sent_) {  // its instance died: ask the client to retry
    respond_failure(503, "instance_failed", "instance " + u->id + " failed: " + s.message(), 1);
    return;
  }
  if (!s.ok()) {  // connect, reset or timeout; mid-stream the partial usage is billed
    respond_failure(502, "upstream_error",
                    "upstream " + u->id + (events_sent_ ? " failed mid-stream: " : " failed: ") + s.message());
    return;
  }
  if (streaming_ && upstream_status_ != 200) {  // the client already has a 200 head
    // The upstream's own message when it sent one in the error shape (read without trusting it).
    const nlohmann::json j = nlohmann::json::parse(body_, nullptr, false);
    std::string message = "upstream " + u->id + " answered HTTP " + std::to_string(upstream_status_);
    if (auto error = json::get_object(j, "error"); error.ok() && *error)
      if (auto text = json::get_string(**error, "message"); text.ok() && *text) message = std::move(**text);
    respond_failure(upstream_status_, "upstream_error", message);
    return;
  }
  if (streaming_) {  // the stream's last events go out only once its ledger row is committed
    settle(200, [ex = ex_, done = done_seen_] {
      if (done) ex->send_event("[DONE]");
      ex->end_stream();
    });
    return;
  }
  // A whole (non-stream) response, possibly an upstream error: pass it through.
  if (upstream_status_ == 200) {
    nlohmann::json j = nlohmann::json::parse(body_, nullptr, false);
    if (j.is_object()) take_usage(j);
    if (restorer_ && j.is_object()) {  // the answer to a redacted request: placeholders put back
      req_.redacted->redaction.restore_json(j);
      body_ = json::dump(j);
    }
    // A cloud answer is kept apart: a sensitive request never gets one (GatewayService::route).
    // An answer to a redacted request is not cached at all.
    if (!req_.cache_key.empty() && !restorer_)
      svc_.cache().put(req_.cache_key + (zone_ == Zone::kCloud ? kCloudCacheSuffix : ""), body_);
    // The policy's content rules on the answer, after the cache (which keeps it unfiltered:
    // each hit is filtered by its own requester's policy).
    if (policy::filter_response(req_.policy, req_.route, j)) {
      body_ = json::dump(j);
      note_filtered();
    }
  }
  net::HttpResponse r;
  r.status = upstream_status_;
  r.body = std::move(body_);
  r.headers.push_back({"x-fathom-upstream", u->id});
  r.headers.push_back({"x-request-id", request_id_});
  if (cold_start_)
    r.headers.push_back(
        {"x-fathom-cold-start-ms",
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(*cold_start_).count())});
  const int status = upstream_status_;
  if (status >= 400) error_ = "upstream " + u->id + " answered HTTP " + std::to_string(status);
  settle(status, [ex = ex_, r = std::move(r)]() mutable { ex->send(std::move(r)); });
}

// Called with mu_ held. Before the stream's head: an OpenAI error response; after it: an
// error event that ends the stream.
void ProxyCall::respond_failure(int status, const std::string& code, const std::string& message,
                                int64_t retry_after_s) {
  net::HttpResponse r = error_response(status, "server_error", message, code);
  error_ = message;
  r.headers.push_back({"x-request-id", request_id_});
  if (retry_after_s > 0) r.headers.push_back({"retry-after", std::to_string(retry_after_s)});
  if (!streaming_) return settle(status, [ex = ex_, r = std::move(r)]() mutable { ex->send(std::move(r)); });
  settle(status, [ex = ex_, event = std::move(r.body)] {
    ex->send_event(event);
    ex->end_stream();
  });
}

// Called with mu_ held: the usage object of a response or of a stream's final chunk.
void ProxyCall::take_usage(const nlohmann::json& j) {
  // An upstream's usage is read as carefully as a client's request: a wrong type counts as 0.
  auto usage = json::get_object(j, "usage");
  if (!usage.ok() || !*usage) return;
  const nlohmann::json& u = **usage;
  const auto count = [](const nlohmann::json& obj, const char* name) {
    auto n = json::get_integer(obj, name);
    return n.ok() && *n && **n > 0 ? **n : int64_t{0};
  };
  // Chat and completions name them prompt/completion; the Responses API input/output.
  const bool chat = u.contains("prompt_tokens");
  prompt_tokens_ = count(u, chat ? "prompt_tokens" : "input_tokens");
  completion_tokens_ = count(u, chat ? "completion_tokens" : "output_tokens");
  if (auto details = json::get_object(u, chat ? "prompt_tokens_details" : "input_tokens_details");
      details.ok() && *details)
    cached_tokens_ = count(**details, "cached_tokens");
  usage_seen_ = true;
}

// Quota, ledger, metrics and the access log, exactly once per call. Called with mu_ held.
// `release` sends the response's last bytes once the ledger has the usage row durably (see
// Ledger::submit), so a client that saw a complete response is always billed, even if the
// gateway is killed right after. A ledger that cannot write is logged and does not hold the
// client's answer.
void ProxyCall::settle(int status, std::function<void()> release) {
  if (settled_) {
    if (release) release();
    return;
  }
  settled_ = true;
  if (!usage_seen_ && content_chunks_ > 0) {
    // A stream cut before its usage chunk: bill what reached the client (one token per
    // content chunk, the prompt as estimated).
    completion_tokens_ = content_chunks_;
    prompt_tokens_ = req_.prompt_estimate;
  }
  const int64_t used = prompt_tokens_ + completion_tokens_;
  req_.slot.release(used);
  const int64_t before = svc_.monthly_tokens(req_.key.tenant, used);
  const auto cost = routing_->cfg.prices.cost(req_.model->name, before, prompt_tokens_, cached_tokens_,
                                              completion_tokens_);
  const double elapsed_s = seconds_since(started_);
  UsageRecord rec;
  rec.request_id = request_id_;
  rec.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  rec.tenant = req_.key.tenant;
  rec.key_id = req_.key.key_id;
  rec.model = req_.model->name;
  rec.upstream = current_ ? current_->id : "";
  rec.prompt_tokens = prompt_tokens_;
  rec.completion_tokens = completion_tokens_;
  rec.cached_tokens = cached_tokens_;
  rec.cost_nanos = cost.ok() ? *cost : 0;
  if (const ComputePrice* plan = routing_->cfg.prices.compute_plan(req_.model->name)) {
    // per_compute: the time on instances (and the activator wait if the plan says so),
    // rounded up to the plan's granularity.
    Clock::Duration billed = upstream_time_;
    if (plan->bill_cold_start && cold_start_) billed += *cold_start_;
    const ComputeCharge charge = PriceTable::compute_cost(*plan, billed.count());
    rec.cost_nanos = charge.cost_nanos;
    rec.billed_ms = charge.billed_ms;
    rec.billing_granularity_ms = charge.granularity_ms;
  }
  rec.latency_ms = static_cast<int64_t>(elapsed_s * 1000);
  rec.status = status;
  if (const DataProtection* p = svc_.protection()) rec.mac = p->seal(usage_row_text(rec));
  svc_.ledger().submit(rec, [id = rec.request_id, release = std::move(release)](const Status& s) {
    if (!s.ok()) FATHOM_LOG(kError) << "ledger write for " << id << " failed: " << s.message();
    if (release) release();
  });
  RequestSample sample;
  sample.route = req_.route;
  sample.model = req_.model->name;
  sample.tenant = req_.key.tenant;
  sample.status = status;
  sample.total_s = elapsed_s;
  sample.upstream_s = upstream_s_;
  sample.ttft_s = ttft_s_;
  sample.prompt_tokens = prompt_tokens_;
  sample.completion_tokens = completion_tokens_;
  sample.cost_nanos = rec.cost_nanos;
  svc_.metrics().record(sample);

  AccessRecord access;
  access.method = "POST";
  access.path = req_.route;
  access.usage = rec;
  access.stream = req_.stream;
  access.attempts = static_cast<int>(tried_.size());
  access.duration_ms = elapsed_s * 1000;
  access.upstream_ms = upstream_s_ * 1000;
  if (ttft_s_) access.ttft_ms = *ttft_s_ * 1000;
  if (!req_.cache_key.empty()) access.cache = "miss";
  access.error = error_;
  if (worker_pool_) {
    access.cold_start_ms =
        std::chrono::duration<double, std::milli>(cold_start_.value_or(Clock::Duration::zero()))
            .count();
    access.instance_ms = std::chrono::duration<double, std::milli>(upstream_time_).count();
  }
  access.classification = req_.classification;
  if (current_) {
    access.zone = zone_name(zone_);
    access.route = route_;
    if (restorer_) access.redacted = static_cast<int>(req_.redacted->redaction.size());
    svc_.metrics().routed(access.zone, route_.substr(0, route_.find(':')));
  }
  if (req_.sensitive()) {  // evidence (hash-chained): where it was served
    const SensitiveRoute route{.request_id = request_id_,
                               .tenant = req_.key.tenant,
                               .upstream = current_ ? current_->id : "",
                               .zone = current_ ? zone_name(zone_) : "",
                               .status = status,
                               .redacted = restorer_.has_value()};
    svc_.audit().post(
        kSensitiveRouteEvent,
        sensitive_route_details(route, req_.key.key_id, req_.model->name, *req_.classification));
  }
  svc_.access_log().write(access);
}

}  // namespace fathom::gateway
