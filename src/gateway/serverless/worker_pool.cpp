#include "gateway/serverless/worker_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/logging.h"
#include "gateway/proxy/upstream_pool.h"
#include "gateway/serverless/prewarm.h"
#include "net/http_client.h"

namespace fathom::gateway {
namespace {

constexpr auto kTick = std::chrono::milliseconds(1000);    // a control step at least this often
constexpr auto kBusyTick = std::chrono::milliseconds(20);  // ... while an instance starts or drains
constexpr auto kHealthPoll = std::chrono::milliseconds(5);  // a starting instance's /health
constexpr int64_t kProbeTimeoutMs = 2'000;

const char* state_name(int s) {
  static const char* const kNames[] = {"starting", "ready", "draining", "failed"};
  return kNames[s];
}

std::string fill(std::string arg, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    for (size_t at = arg.find(key); at != std::string::npos; at = arg.find(key, at + value.size()))
      arg.replace(at, key.size(), value);
  }
  return arg;
}

// Whether nothing listens on 127.0.0.1:port now (the worker binds it a moment later; a port
// taken in between makes that start fail, and the next one picks another).
bool port_free(int32_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// One warm-up completion; it must answer 200.
Status warm_up_one(int32_t port, const std::string& body, int64_t timeout_ms) {
  net::HttpClient c("127.0.0.1", static_cast<uint16_t>(port), timeout_ms);
  auto r = c.request("POST", "/v1/completions", body, {{"content-type", "application/json"}});
  if (!r.ok()) return r.status().with_context("warm-up request");
  if (r->status != 200)
    return unavailable("warm-up request answered HTTP " + std::to_string(r->status) + ": " +
                       r->body);
  return ok_status();
}

}  // namespace

WorkerLease& WorkerLease::operator=(WorkerLease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::move(o.pool_);
    instance_id_ = o.instance_id_;
    upstream_ = std::move(o.upstream_);
    waited_ = o.waited_;
    leased_at_ = o.leased_at_;
  }
  return *this;
}

void WorkerLease::reset() {
  if (pool_) pool_->release(instance_id_, pool_->real_.now() - leased_at_);
  pool_.reset();
  upstream_.reset();
}

Result<std::shared_ptr<WorkerPool>> WorkerPool::create(std::string name, ServerlessConfig cfg,
                                                       CircuitBreakerConfig breaker,
                                                       const Clock& decision_clock,
                                                       std::unique_ptr<Actuator> actuator,
                                                       std::string log_dir) {
  const date::time_zone* zone = nullptr;
  if (!cfg.prewarm.time_zone.empty()) {
    auto z = find_time_zone(cfg.prewarm.time_zone);
    if (!z.ok()) return z.status().with_context("pools." + name + ".prewarm.time_zone");
    zone = *z;
  }
  return std::shared_ptr<WorkerPool>(new WorkerPool(std::move(name), std::move(cfg), breaker,
                                                    decision_clock, std::move(actuator),
                                                    std::move(log_dir), zone));
}

WorkerPool::WorkerPool(std::string name, ServerlessConfig cfg, CircuitBreakerConfig breaker,
                       const Clock& clock, std::unique_ptr<Actuator> actuator, std::string log_dir,
                       const date::time_zone* zone)
    : name_(std::move(name)),
      cfg_(std::move(cfg)),
      breaker_(breaker),
      clock_(clock),
      actuator_(std::move(actuator)),
      log_dir_(std::move(log_dir)),
      zone_(zone),
      cold_start_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}) {}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  control_ = std::thread([this] { control_loop(); });
}

void WorkerPool::poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void WorkerPool::step_and_wait() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_ || stopping_) return;
  const uint64_t after = steps_begun_;
  poked_ = true;
  cv_.notify_all();
  stepped_.wait(lock, [&] { return stopping_ || steps_done_ > after; });
}

Result<WorkerPool::Acquired> WorkerPool::acquire(OnLease on_lease) {
  Acquired a;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return unavailable("serverless pool " + name_ + " is shutting down");
    if (waiters_.empty())
      if (Instance* inst = roomiest_locked()) {
        a.lease = lease_locked(*inst, Clock::Duration::zero());
        return a;
      }
    if (static_cast<int64_t>(waiters_.size()) >= cfg_.queue_max_requests)
      return resource_exhausted(
          "serverless pool " + name_ + ": " + std::to_string(waiters_.size()) +
          " requests are already waiting for an instance (queue_max_requests)");
    a.ticket = next_ticket_++;
    waiters_.push_back({a.ticket, std::move(on_lease), real_.now()});
    poked_ = true;  // the activator: the scaler hears of the waiting request at once
  }
  cv_.notify_all();
  return a;
}

void WorkerPool::cancel(uint64_t ticket) {
  OnLease dropped;  // destroyed outside the lock: it may own the request
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
    if (it->ticket == ticket) {
      dropped = std::move(it->on_lease);
      waiters_.erase(it);
      break;
    }
}

void WorkerPool::report_failure(const Upstream* u) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, inst] : instances_) {
      if (inst.upstream.get() != u || inst.state == State::kFailed) continue;
      FATHOM_LOG(kWarning) << "serverless pool " << name_ << ": instance " << id << " (pid "
                           << inst.handle.pid << ") lost a request's connection; killing it";
      if (inst.state != State::kDraining) ++crashes_;
      inst.state = State::kFailed;
      actuator_->stop(inst.handle, true);
    }
    poked_ = true;
  }
  cv_.notify_all();
}

void WorkerPool::prewarm(int32_t instances, int64_t hold_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_instances_ = std::clamp(instances, 0, cfg_.scaling.max_instances);
    hold_until_ = clock_.now() + std::chrono::milliseconds(hold_ms);
    poked_ = true;
  }
  cv_.notify_all();
}

PoolStatus WorkerPool::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  PoolStatus s;
  s.name = name_;
  for (const auto& [id, inst] : instances_)
    s.instances.push_back(
        {id, inst.handle.pid, inst.port, state_name(static_cast<int>(inst.state)), inst.in_flight});
  s.queued = static_cast<int32_t>(waiters_.size());
  s.desired = desired_;
  s.floor = floor_;
  s.panicking = panicking_;
  s.last_error = last_error_;
  s.starts = starts_;
  s.start_failures = start_failures_;
  s.crashes = crashes_;
  s.cold_start = cold_start_.snapshot();
  return s;
}

void WorkerPool::release(int64_t instance_id, Clock::Duration busy) {
  Grants grants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Instance* inst = find_locked(instance_id)) --inst->in_flight;
    finished_.emplace_back(clock_.now(), std::chrono::duration<double>(busy).count());
    dispatch_locked(grants);
  }
  grant(grants);
}

WorkerLease WorkerPool::lease_locked(Instance& inst, Clock::Duration waited) {
  ++inst.in_flight;
  WorkerLease l;
  l.pool_ = shared_from_this();
  l.instance_id_ = inst.id;
  l.upstream_ = inst.upstream;
  l.waited_ = waited;
  l.leased_at_ = real_.now();
  return l;
}

WorkerPool::Instance* WorkerPool::find_locked(int64_t id) {
  auto it = instances_.find(id);
  return it == instances_.end() ? nullptr : &it->second;
}

// The ready instance with the fewest requests, if it has room (container_concurrency).
WorkerPool::Instance* WorkerPool::roomiest_locked() {
  Instance* best = nullptr;
  for (auto& [id, inst] : instances_)
    if (inst.state == State::kReady && (!best || inst.in_flight < best->in_flight)) best = &inst;
  if (best && cfg_.container_concurrency > 0 && best->in_flight >= cfg_.container_concurrency)
    return nullptr;
  return best;
}

void WorkerPool::dispatch_locked(Grants& out) {
  while (!waiters_.empty()) {
    Instance* inst = roomiest_locked();
    if (!inst) return;
    Waiter w = std::move(waiters_.front());
    waiters_.pop_front();
    const Clock::Duration waited = real_.now() - w.since;
    cold_start_.observe(std::chrono::duration<double>(waited).count());
    out.emplace_back(std::move(w.on_lease), lease_locked(*inst, waited));
  }
}

// Runs the granted waiters' callbacks, never under mu_ (they post to their connections).
void WorkerPool::grant(Grants& grants) {
  for (auto& [on_lease, lease] : grants) on_lease(std::move(lease));
  grants.clear();
}

void WorkerPool::control_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const uint64_t step = ++steps_begun_;
    reap_locked();
    scale_locked();
    Grants grants;
    dispatch_locked(grants);
    std::vector<std::thread> done;
    for (int64_t id : finished_starters_) {
      if (auto it = starters_.find(id); it != starters_.end()) {
        done.push_back(std::move(it->second));
        starters_.erase(it);
      }
    }
    finished_starters_.clear();
    const bool busy = std::any_of(instances_.begin(), instances_.end(),
                                  [](const auto& kv) { return kv.second.state != State::kReady; });
    lock.unlock();
    grant(grants);
    for (std::thread& t : done) t.join();
    lock.lock();
    steps_done_ = step;
    stepped_.notify_all();
    cv_.wait_for(lock, busy ? kBusyTick : kTick, [&] { return poked_ || stopping_; });
    poked_ = false;
  }
}

// Reaps every instance that ended; drains past their timeout are killed.
void WorkerPool::reap_locked() {
  const Clock::TimePoint now = real_.now();
  for (auto it = instances_.begin(); it != instances_.end();) {
    Instance& inst = it->second;
    const std::optional<InstanceExit> exit = actuator_->poll_exit(inst.handle);
    if (!exit) {
      if (inst.state == State::kDraining && now >= inst.drain_deadline) {
        FATHOM_LOG(kWarning) << "serverless pool " << name_ << ": instance " << inst.id
                             << " did not drain in time; killing it";
        actuator_->stop(inst.handle, true);
      }
      ++it;
      continue;
    }
    if (inst.state == State::kStarting) {
      start_failed_locked(inst, "exited while starting: " + exit->describe() + " (log " + log_dir_ +
                                    "/" + name_ + "-" + std::to_string(inst.id) + ".log)");
    } else if (inst.state == State::kReady) {
      ++crashes_;
      last_error_ = "instance " + std::to_string(inst.id) + " " + exit->describe();
    }
    FATHOM_LOG(kInfo) << "serverless pool " << name_ << ": instance " << inst.id << " (pid "
                      << inst.handle.pid << ", port " << inst.port
                      << ") stopped: " << exit->describe();
    it = instances_.erase(it);
  }
}

void WorkerPool::scale_locked() {
  const Clock::TimePoint now = clock_.now();
  int32_t in_flight = 0, ready = 0, live = 0;
  for (const auto& [id, inst] : instances_) {
    in_flight += inst.in_flight;
    if (inst.state == State::kReady) ++ready;
    if (inst.state == State::kReady || inst.state == State::kStarting) ++live;
  }
  const int32_t queued = static_cast<int32_t>(waiters_.size());
  const int32_t concurrency = in_flight + queued;
  window_.record(now, concurrency);
  const auto stable = std::chrono::milliseconds(cfg_.scaling.stable_window_ms);
  const auto predict = std::chrono::milliseconds(cfg_.prewarm.predict_window_ms);
  window_.prune(now, stable);
  while (!finished_.empty() && finished_.front().first + predict < now) finished_.pop_front();
  double busy_s = 0;
  for (const auto& [t, s] : finished_) busy_s += s;
  const int64_t recent = static_cast<int64_t>(finished_.size());
  floor_ = std::max(
      {scheduled_instances(cfg_.prewarm, zone_, clock_.wall_now()),
       predicted_instances(cfg_.prewarm, cfg_.scaling, recent, recent ? busy_s / recent : 0.0),
       now < hold_until_ ? hold_instances_ : 0});
  ScaleInput in{now,
                window_.average(now, stable),
                window_.average(now, panic_window(cfg_.scaling)),
                concurrency,
                ready,
                queued,
                floor_};
  ScaleDecision d = decide_scale(cfg_.scaling, in, std::move(scaler_));
  scaler_ = std::move(d.next);
  if (d.desired != desired_)
    FATHOM_LOG(kInfo) << "serverless pool " << name_ << ": desired instances " << desired_ << " -> "
                      << d.desired << " (concurrency " << concurrency << ", queued " << queued
                      << ", floor " << floor_ << (d.panicking ? ", panic" : "") << ")";
  desired_ = d.desired;
  panicking_ = d.panicking;

  for (int32_t n = live; n < desired_ && real_.now() >= next_start_at_; ++n)
    start_instance_locked();
  // Scale down: only idle ready instances, newest first; marked draining under mu_, so no
  // request can lease one after this (a racing arrival gets another or waits for a start).
  for (auto it = instances_.rbegin(); live > desired_ && it != instances_.rend(); ++it) {
    Instance& inst = it->second;
    if (inst.state != State::kReady || inst.in_flight > 0 || !waiters_.empty()) continue;
    inst.state = State::kDraining;
    inst.drain_deadline = real_.now() + std::chrono::milliseconds(cfg_.worker.drain_timeout_ms);
    actuator_->stop(inst.handle, false);  // SIGTERM: it finishes what it has and exits
    FATHOM_LOG(kInfo) << "serverless pool " << name_ << ": draining instance " << inst.id
                      << " (pid " << inst.handle.pid << ")";
    --live;
  }
}

int32_t WorkerPool::pick_port_locked() const {
  for (int32_t p = cfg_.worker.port_from; p <= cfg_.worker.port_to; ++p) {
    const bool taken = std::any_of(instances_.begin(), instances_.end(),
                                   [&](const auto& kv) { return kv.second.port == p; });
    if (!taken && port_free(p)) return p;
  }
  return 0;
}

void WorkerPool::start_instance_locked() {
  const int32_t port = pick_port_locked();
  if (port == 0) {
    last_error_ = "no free port in " + std::to_string(cfg_.worker.port_from) + "-" +
                  std::to_string(cfg_.worker.port_to);
    next_start_at_ = real_.now() + std::chrono::milliseconds(cfg_.worker.start_backoff_ms);
    return;
  }
  const int64_t id = next_instance_id_++;
  const std::map<std::string, std::string> values = {{"{fathom}", self_executable()},
                                                     {"{model}", cfg_.worker.model},
                                                     {"{model_name}", cfg_.worker.model_name},
                                                     {"{host}", "127.0.0.1"},
                                                     {"{port}", std::to_string(port)}};
  InstanceSpec spec;
  for (const std::string& a : cfg_.worker.command) spec.argv.push_back(fill(a, values));
  spec.env = cfg_.worker.env;
  spec.log_path = log_dir_ + "/" + name_ + "-" + std::to_string(id) + ".log";
  ++starts_;
  Result<InstanceHandle> h = actuator_->start(spec);
  if (!h.ok()) return back_off_locked("cannot start an instance: " + h.status().message());
  Instance inst;
  inst.id = id;
  inst.handle = *h;
  inst.port = port;
  inst.started_at = real_.now();
  net::Url url{"127.0.0.1", static_cast<uint16_t>(port), "", false, nullptr};
  inst.upstream = std::make_shared<Upstream>(name_ + "/127.0.0.1:" + std::to_string(port), url,
                                             cfg_.worker.model_name, breaker_, real_);
  instances_.emplace(id, std::move(inst));
  FATHOM_LOG(kInfo) << "serverless pool " << name_ << ": starting instance " << id << " (pid "
                    << h->pid << ", port " << port << ")";
  starters_.emplace(id, std::thread([this, id, port] { run_starter(id, port); }));
}

// Called with mu_ held: a failed start is reported, and the next start waits out a backoff
// that doubles up to max_start_backoff_ms (a success resets it).
void WorkerPool::back_off_locked(const std::string& why) {
  ++start_failures_;
  last_error_ = why;
  backoff_ms_ =
      std::clamp(backoff_ms_ * 2, cfg_.worker.start_backoff_ms, cfg_.worker.max_start_backoff_ms);
  next_start_at_ = real_.now() + std::chrono::milliseconds(backoff_ms_);
  FATHOM_LOG(kError) << "serverless pool " << name_ << ": " << why << "; next start in "
                     << backoff_ms_ << " ms";
}

// Called with mu_ held: a start that failed is killed (and reaped by the control loop).
void WorkerPool::start_failed_locked(Instance& inst, const std::string& why) {
  inst.state = State::kFailed;
  actuator_->stop(inst.handle, true);
  back_off_locked("instance " + std::to_string(inst.id) + " " + why);
}

bool WorkerPool::alive_and_starting(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  const Instance* inst = find_locked(id);
  return !stopping_ && inst && inst->state == State::kStarting;
}

// A starting instance's own thread: /health until 200, then the warm-up requests, then ready.
void WorkerPool::run_starter(int64_t id, int32_t port) {
  const Clock::TimePoint began = real_.now();
  Status s = wait_healthy(id, port);
  if (s.ok()) s = warm_up(port);
  Grants grants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_starters_.push_back(id);
    Instance* inst = find_locked(id);
    if (inst && inst->state == State::kStarting) {
      if (s.ok()) {
        inst->state = State::kReady;
        backoff_ms_ = 0;
        FATHOM_LOG(kInfo)
            << "serverless pool " << name_ << ": instance " << id << " ready in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(real_.now() - began).count()
            << " ms";
        dispatch_locked(grants);
      } else {
        start_failed_locked(*inst, s.message());
      }
    }
    poked_ = true;
  }
  cv_.notify_all();
  grant(grants);
}

Status WorkerPool::wait_healthy(int64_t id, int32_t port) {
  const Clock::TimePoint deadline =
      real_.now() + std::chrono::milliseconds(cfg_.worker.start_timeout_ms);
  net::HttpClient probe("127.0.0.1", static_cast<uint16_t>(port), kProbeTimeoutMs);
  while (alive_and_starting(id)) {
    auto r = probe.request("GET", "/health", "");
    if (r.ok() && r->status == 200) return ok_status();
    if (real_.now() >= deadline)
      return unavailable("was not healthy within start_timeout_ms (" +
                         std::to_string(cfg_.worker.start_timeout_ms) + " ms)");
    std::unique_lock<std::mutex> lock(mu_);  // a poll interval, cut short by shutdown
    cv_.wait_for(lock, kHealthPoll, [&] { return stopping_; });
  }
  return unavailable("is no longer starting");
}

// warmup_requests concurrent completions of the warm-up prompt.
Status WorkerPool::warm_up(int32_t port) {
  const PrewarmConfig& p = cfg_.prewarm;
  if (p.warmup_requests <= 0) return ok_status();
  const std::string body = nlohmann::json{
      {"model", cfg_.worker.model_name},
      {"prompt", p.warmup_prompt},
      {"max_tokens", p.warmup_max_tokens},
      {"temperature", 0}}.dump();
  std::vector<Status> results(static_cast<size_t>(p.warmup_requests));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i)
    threads.emplace_back(
        [&, i] { results[i] = warm_up_one(port, body, cfg_.worker.start_timeout_ms); });
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) FATHOM_RETURN_IF_ERROR(s);
  return ok_status();
}

void WorkerPool::shutdown() {
  std::deque<Waiter> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    failed.swap(waiters_);
  }
  cv_.notify_all();
  stepped_.notify_all();
  for (Waiter& w : failed)
    w.on_lease(unavailable("serverless pool " + name_ + " is shutting down"));
  if (control_.joinable()) control_.join();
  // Drain: SIGTERM to the ready ones (they finish what they have), SIGKILL to the rest (a
  // starter blocked in a warm-up request returns at once); then wait for each, killing what
  // is still there past the drain timeout, and reap all.
  std::map<int64_t, std::thread> starters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, inst] : instances_) actuator_->stop(inst.handle, inst.state != State::kReady);
    starters.swap(starters_);
  }
  for (auto& [id, t] : starters) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::TimePoint deadline =
      real_.now() + std::chrono::milliseconds(cfg_.worker.drain_timeout_ms);
  while (!instances_.empty()) {
    for (auto it = instances_.begin(); it != instances_.end();)
      it = actuator_->poll_exit(it->second.handle) ? instances_.erase(it) : std::next(it);
    if (instances_.empty()) break;
    if (real_.now() >= deadline)
      for (auto& [id, inst] : instances_) actuator_->stop(inst.handle, true);
    std::this_thread::sleep_for(kBusyTick);  // waiting on child exits at shutdown
  }
}

}  // namespace fathom::gateway
