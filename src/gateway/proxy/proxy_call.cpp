#include "gateway/proxy/proxy_call.h"

#include <chrono>

#include "base/logging.h"
#include "gateway/gateway_service.h"
#include "gateway/proxy/errors.h"

namespace fathom::gateway {

ProxyCall::ProxyCall(GatewayService& svc, std::shared_ptr<const Routing> routing,
                     std::shared_ptr<net::Exchange> ex, ProxyRequest req)
    : svc_(svc), routing_(std::move(routing)), ex_(std::move(ex)), req_(std::move(req)) {}

double ProxyCall::seconds_since(Clock::TimePoint t) const {
  return std::chrono::duration<double>(svc_.clock().now() - t).count();
}

void ProxyCall::start() {
  started_ = svc_.clock().now();
  std::weak_ptr<ProxyCall> weak = shared_from_this();
  ex_->on_disconnect([weak] {
    if (auto self = weak.lock()) {
      std::shared_ptr<net::StreamRequest> up;
      {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->client_gone_ = true;
        up = self->upstream_req_;
      }
      if (up) up->cancel();  // on_done settles with what was streamed so far
    }
  });
  std::lock_guard<std::mutex> lock(mu_);
  attempt();
}

Upstream* ProxyCall::pick() {
  // The model's pool first, then its fallbacks (each pool visited once).
  std::set<std::string> visited;
  std::string pool = req_.model->pool;
  while (!pool.empty() && visited.insert(pool).second) {
    auto it = routing_->pools.find(pool);
    if (it == routing_->pools.end()) break;
    if (Upstream* u = it->second->pick(req_.affinity_key, svc_.next_random(), tried_)) return u;
    pool = it->second->fallback();
  }
  return nullptr;
}

// Called with mu_ held.
void ProxyCall::attempt() {
  Upstream* u = pick();
  if (!u) {
    respond_error(error_response(503, "server_error",
                                 "no healthy upstream for model '" + req_.model->name + "' (pool " + req_.model->pool + ")"));
    return;
  }
  tried_.insert(u);
  current_ = u;
  ++u->outstanding;
  ++u->requests_total;
  upstream_status_ = 0;
  body_.clear();
  sse_ = SseParser();
  attempt_started_ = svc_.clock().now();

  nlohmann::json body = req_.body;
  body["model"] = u->model.empty() ? req_.body.value("model", "") : u->model;
  if (req_.stream) body["stream_options"]["include_usage"] = true;  // we bill from the final chunk
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
  upstream_req_ = svc_.client().start(u->url, "POST", target, {{"content-type", "application/json"}}, body.dump(),
                                      {5'000, cfg.first_byte_timeout_ms, cfg.idle_timeout_ms}, std::move(cb));
}

void ProxyCall::on_head(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  upstream_status_ = status;
  if (status == 200 && req_.stream && !client_gone_) {
    streaming_ = true;
    ttft_s_.reset();
    ex_->begin_stream();
  }
}

void ProxyCall::on_body(std::string_view piece) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!streaming_) {
    if (body_.size() < (64u << 20)) body_.append(piece);
    return;
  }
  for (const std::string& data : sse_.feed(piece)) forward_event(data);
}

// Called with mu_ held, for each upstream event of a stream that reached the client.
void ProxyCall::forward_event(const std::string& data) {
  if (data == "[DONE]") {  // held back: released with the end of the stream, after the ledger commit
    done_seen_ = true;
    return;
  }
  nlohmann::json chunk = nlohmann::json::parse(data, nullptr, false);
  if (chunk.is_discarded()) {  // not JSON: pass it on untouched
    ex_->send_event(data);
    return;
  }
  if (chunk.contains("usage") && chunk["usage"].is_object()) {
    const auto& u = chunk["usage"];
    prompt_tokens_ = u.value("prompt_tokens", int64_t{0});
    completion_tokens_ = u.value("completion_tokens", int64_t{0});
    if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object())
      cached_tokens_ = u["prompt_tokens_details"].value("cached_tokens", int64_t{0});
    usage_seen_ = true;
  }
  const bool has_choices = chunk.contains("choices") && chunk["choices"].is_array() && !chunk["choices"].empty();
  if (has_choices) {
    ++content_chunks_;
    if (!ttft_s_) ttft_s_ = seconds_since(started_);
  }
  if (!req_.client_wants_usage && chunk.contains("usage")) {
    if (!has_choices) return;  // the usage-only chunk the client did not ask for
    chunk.erase("usage");
    ex_->send_event(chunk.dump());
    return;
  }
  ex_->send_event(data);
}

void ProxyCall::on_done(const Status& s, bool head_seen) {
  std::lock_guard<std::mutex> lock(mu_);
  upstream_req_.reset();
  Upstream* u = current_;
  --u->outstanding;
  upstream_s_ += seconds_since(attempt_started_);
  const bool upstream_failed = !s.ok() || upstream_status_ >= 500;
  if (client_gone_) {  // the client left: bill what was produced, nothing to answer
    u->breaker.record(Outcome::kSuccess);
    settle(499, nullptr);
    return;
  }
  if (upstream_failed) {
    ++u->failures_total;
    u->breaker.record(Outcome::kFailure);
  } else {
    u->breaker.record(Outcome::kSuccess);
  }
  if (upstream_failed && !streaming_) {
    // Nothing reached the client yet: another upstream may still answer.
    if (static_cast<int32_t>(tried_.size()) < routing_->cfg.max_attempts &&
        svc_.take_retry(routing_->cfg.retry_budget_ratio)) {
      svc_.metrics().retried();
      FATHOM_LOG(kWarning) << "upstream " << u->id << " failed ("
                           << (s.ok() ? "HTTP " + std::to_string(upstream_status_) : s.message()) << "); retrying";
      attempt();
      return;
    }
    if (head_seen && upstream_status_ >= 500) {
      net::HttpResponse r;
      r.status = upstream_status_;
      r.body = body_;
      settle(upstream_status_, [ex = ex_, r = std::move(r)]() mutable { ex->send(std::move(r)); });
    } else {
      respond_error(error_response(502, "server_error", "upstream " + u->id + " failed: " + s.message()));
    }
    return;
  }
  if (streaming_) {
    std::string error_event;
    if (!s.ok()) {  // cut mid-stream: tell the client, bill the partial usage
      nlohmann::json err = {{"error",
                             {{"message", "upstream " + u->id + " failed mid-stream: " + s.message()},
                              {"type", "server_error"},
                              {"param", nullptr},
                              {"code", "upstream_error"}}}};
      error_event = err.dump();
    }
    // The stream's last events go out only once its ledger row is committed.
    settle(s.ok() ? 200 : 502, [ex = ex_, error_event = std::move(error_event), done = done_seen_ && s.ok()] {
      if (!error_event.empty()) ex->send_event(error_event);
      if (done) ex->send_event("[DONE]");
      ex->end_stream();
    });
    return;
  }
  // A whole (non-stream) response, possibly an upstream 4xx: pass it through.
  if (upstream_status_ == 200) {
    nlohmann::json j = nlohmann::json::parse(body_, nullptr, false);
    if (j.is_object() && j.contains("usage") && j["usage"].is_object()) {
      prompt_tokens_ = j["usage"].value("prompt_tokens", int64_t{0});
      completion_tokens_ = j["usage"].value("completion_tokens", int64_t{0});
      if (j["usage"].contains("prompt_tokens_details") && j["usage"]["prompt_tokens_details"].is_object())
        cached_tokens_ = j["usage"]["prompt_tokens_details"].value("cached_tokens", int64_t{0});
      usage_seen_ = true;
    }
    if (!req_.cache_key.empty()) svc_.cache().put(req_.cache_key, body_);
  }
  net::HttpResponse r;
  r.status = upstream_status_;
  r.body = std::move(body_);
  r.headers.push_back({"x-fathom-upstream", u->id});
  const int status = upstream_status_;
  settle(status, [ex = ex_, r = std::move(r)]() mutable { ex->send(std::move(r)); });
}

void ProxyCall::respond_error(const net::HttpResponse& r) {
  settle(r.status, [ex = ex_, r]() mutable { ex->send(std::move(r)); });
}

// Quota, ledger and metrics, exactly once per call. Called with mu_ held. `release` sends the
// response's last bytes; it runs on the ledger's writer thread once the usage row is committed,
// so a client that saw a complete response is always billed (even if the gateway is killed
// right after). A ledger that cannot write is logged and does not hold the client's answer.
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
  svc_.quota().release(req_.admission, used);
  const int64_t before = svc_.monthly_tokens(req_.key.tenant, used);
  const auto cost = routing_->cfg.prices.cost(req_.model->name, before, prompt_tokens_, cached_tokens_,
                                              completion_tokens_);
  UsageRecord rec;
  rec.request_id = req_.admission.key_id + "-" + std::to_string(svc_.next_random());
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
  rec.latency_ms = static_cast<int64_t>(seconds_since(started_) * 1000);
  rec.status = status;
  svc_.ledger().submit(rec, [id = rec.request_id, release = std::move(release)](const Status& s) {
    if (!s.ok()) FATHOM_LOG(kError) << "ledger write for " << id << " failed: " << s.message();
    if (release) release();
  });
  RequestSample sample;
  sample.route = req_.route;
  sample.model = req_.model->name;
  sample.tenant = req_.key.tenant;
  sample.status = status;
  sample.total_s = seconds_since(started_);
  sample.upstream_s = upstream_s_;
  sample.ttft_s = ttft_s_;
  sample.prompt_tokens = prompt_tokens_;
  sample.completion_tokens = completion_tokens_;
  sample.cost_nanos = rec.cost_nanos;
  svc_.metrics().record(sample);
}

}  // namespace fathom::gateway
