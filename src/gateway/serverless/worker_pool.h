// A serverless pool's instances and its activator. Requests lease an instance with room
// (acquire); when none has room they wait in a bounded queue while the autoscaler starts one.
// A control thread samples concurrency, asks the KPA autoscaler (autoscaler.h) how many
// instances to run, starts them through the Actuator (warm-up before routing), drains idle ones
// with SIGTERM and reaps every exit. Scaling decisions use the injected clock; process
// mechanics (health polls, start and drain timeouts, backoff) use real time.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/histogram.h"
#include "base/status.h"
#include "gateway/circuit_breaker.h"
#include "gateway/serverless/actuator.h"
#include "gateway/serverless/autoscaler.h"
#include "gateway/serverless/serverless_config.h"

namespace date {
class time_zone;
}

namespace fathom::gateway {

struct Upstream;
class WorkerPool;

/// One request's hold on an instance (RAII: the instance's slot is released with it).
class WorkerLease {
 public:
  WorkerLease() = default;
  WorkerLease(WorkerLease&& o) noexcept { *this = std::move(o); }
  WorkerLease& operator=(WorkerLease&& o) noexcept;
  WorkerLease(const WorkerLease&) = delete;
  WorkerLease& operator=(const WorkerLease&) = delete;
  ~WorkerLease() { reset(); }
  void reset();

  Upstream* upstream() const { return upstream_.get(); }
  const std::shared_ptr<Upstream>& shared_upstream() const { return upstream_; }
  /// How long the request waited in the activator before it got this instance.
  Clock::Duration waited() const { return waited_; }

 private:
  friend class WorkerPool;
  std::shared_ptr<WorkerPool> pool_;
  int64_t instance_id_ = 0;
  std::shared_ptr<Upstream> upstream_;  // outlives the instance while the request runs
  Clock::Duration waited_{};
  Clock::TimePoint leased_at_{};
};

struct InstanceStatus {
  int64_t id = 0;
  pid_t pid = 0;
  int32_t port = 0;
  std::string state;  ///< starting | ready | draining | failed
  int32_t in_flight = 0;
};

struct PoolStatus {
  std::string name;
  std::vector<InstanceStatus> instances;
  int32_t queued = 0;
  int32_t desired = 0;
  int32_t floor = 0;
  bool panicking = false;
  std::string last_error;
  int64_t starts = 0, start_failures = 0, crashes = 0;
  HistogramSnapshot cold_start;  ///< seconds requests waited in the activator
};

class WorkerPool : public std::enable_shared_from_this<WorkerPool> {
 public:
  using OnLease = std::function<void(Result<WorkerLease>)>;
  struct Acquired {
    std::optional<WorkerLease> lease;  ///< an instance had room
    uint64_t ticket = 0;               ///< else: queued; on_lease runs once, from another thread
  };

  /// `decision_clock`: the autoscaler's time (a FakeClock under the gateway's --test-clock).
  static Result<std::shared_ptr<WorkerPool>> create(std::string name, ServerlessConfig cfg,
                                                    CircuitBreakerConfig breaker,
                                                    const Clock& decision_clock,
                                                    std::unique_ptr<Actuator> actuator,
                                                    std::string log_dir);
  ~WorkerPool();
  void start();
  /// Fails the waiting requests, drains every instance (SIGTERM, SIGKILL after the drain
  /// timeout) and reaps it. Idempotent.
  void shutdown();

  /// A lease now, or a ticket (on_lease runs later with a lease or an error); an error when
  /// the queue is full or the pool is shutting down.
  Result<Acquired> acquire(OnLease on_lease);
  /// The waiter gave up (timeout, client gone); its on_lease is dropped unless already running.
  void cancel(uint64_t ticket);
  /// A request to `u` lost its connection: the instance is broken; it is killed and reaped.
  void report_failure(const Upstream* u);
  /// Keeps at least `instances` for `hold_ms` (POST /admin/pools/{name}/prewarm).
  void prewarm(int32_t instances, int64_t hold_ms);
  /// Runs the control step now (a new arrival, a finished start, the test clock moved).
  void poke();
  /// Runs a control step and returns once one that began after this call has finished (the
  /// test clock: its effect is visible when POST /admin/test/clock answers).
  void step_and_wait();

  PoolStatus status() const;
  const std::string& name() const { return name_; }
  const ServerlessConfig& config() const { return cfg_; }

 private:
  enum class State { kStarting, kReady, kDraining, kFailed };
  struct Instance {
    int64_t id = 0;
    InstanceHandle handle;
    int32_t port = 0;
    State state = State::kStarting;
    std::shared_ptr<Upstream> upstream;
    int32_t in_flight = 0;
    Clock::TimePoint started_at{}, drain_deadline{};
  };
  struct Waiter {
    uint64_t ticket = 0;
    OnLease on_lease;
    Clock::TimePoint since{};
  };
  using Grants = std::vector<std::pair<OnLease, WorkerLease>>;

  WorkerPool(std::string name, ServerlessConfig cfg, CircuitBreakerConfig breaker,
             const Clock& clock, std::unique_ptr<Actuator> actuator, std::string log_dir,
             const date::time_zone* zone);
  friend class WorkerLease;
  void release(int64_t instance_id, Clock::Duration busy);
  // With mu_ held.
  WorkerLease lease_locked(Instance& inst, Clock::Duration waited);
  Instance* find_locked(int64_t id);
  Instance* roomiest_locked();
  void dispatch_locked(Grants& out);
  void reap_locked();
  void scale_locked();
  void start_instance_locked();
  int32_t pick_port_locked() const;
  void start_failed_locked(Instance& inst, const std::string& why);
  void back_off_locked(const std::string& why);
  static void grant(Grants& grants);

  void control_loop();
  void run_starter(int64_t id, int32_t port);
  Status wait_healthy(int64_t id, int32_t port);
  Status warm_up(int32_t port);
  bool alive_and_starting(int64_t id);

  const std::string name_;
  const ServerlessConfig cfg_;
  const CircuitBreakerConfig breaker_;
  const Clock& clock_;  // decisions
  SteadyClock real_;    // mechanics
  std::unique_ptr<Actuator> actuator_;
  const std::string log_dir_;
  const date::time_zone* zone_;  // prewarm windows; null without them

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false, stopping_ = false, started_ = false;
  uint64_t steps_begun_ = 0, steps_done_ = 0;
  std::condition_variable stepped_;
  std::map<int64_t, Instance> instances_;
  std::deque<Waiter> waiters_;
  int64_t next_instance_id_ = 1;
  uint64_t next_ticket_ = 1;
  ConcurrencyWindow window_;
  AutoscalerState scaler_;
  int32_t desired_ = 0, floor_ = 0;
  bool panicking_ = false;
  int32_t hold_instances_ = 0;
  Clock::TimePoint hold_until_{};
  std::deque<std::pair<Clock::TimePoint, double>> finished_;  // decision time, seconds busy
  Clock::TimePoint next_start_at_{};                          // real time: the start backoff
  int64_t backoff_ms_ = 0;
  std::string last_error_;
  int64_t starts_ = 0, start_failures_ = 0, crashes_ = 0;
  Histogram cold_start_;
  std::thread control_;
  std::map<int64_t, std::thread> starters_;
  std::vector<int64_t> finished_starters_;
};

}  // namespace fathom::gateway
