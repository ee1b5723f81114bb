// Fixed-rate, open-loop mode. A worker's request i is due at start + i / rate whatever happened
// to request i - 1: a timer wakes at the next due time and queues every request that is due,
// and queued requests go out in order on idle keep-alive connections. Latency counts from the
// due time, so a stall that holds sending back shows up in the percentiles (wrk2's
// coordinated-omission correction) instead of thinning the sample.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>
#include <unordered_set>

#include "histogram.h"
#include "modes.h"

namespace fathom::loadgen {

namespace {

using namespace std::chrono_literals;

struct RateStats {
  Histogram latency;  ///< due time -> last byte (corrected)
  Histogram service;  ///< sent -> last byte (uncorrected, for comparison)
  Histogram ttft;     ///< due time -> first `data:` event
  ErrorCounts errors;
  int64_t responses = 0;       ///< measured requests answered (any status)
  int64_t done_in_window = 0;  ///< responses finished inside the window, whenever due
  int64_t sent = 0;            ///< all requests sent, warm-up included
  std::map<int, int64_t> statuses;

  void merge(const RateStats& o) {
    latency.merge(o.latency);
    service.merge(o.service);
    ttft.merge(o.ttft);
    errors.add(o.errors);
    responses += o.responses;
    done_in_window += o.done_in_window;
    sent += o.sent;
    for (const auto& [code, n] : o.statuses) statuses[code] += n;
  }
};

class RateWorker final : public ConnHandler {
 public:
  RateWorker(const Options& opt, const Target& target, double rate, int connections, int max_connecting)
      : opt_(opt), rate_(rate), gate_(max_connecting, /*until_first_head=*/false) {
    for (int i = 0; i < connections; ++i)
      conns_.push_back(std::make_unique<HttpConn>(io_, target, gate_, *this, std::chrono::milliseconds(opt.timeout_ms)));
  }

  /// Opens the pool, runs warm-up and window, drains; returns when done.
  void run() {
    for (auto& c : conns_) awaiting_first_.insert(c.get());
    for (auto& c : conns_) c->connect();
    io_.run();
  }

  const RateStats& stats() const { return stats_; }

 private:
  void on_connected(HttpConn& conn, bool ok) override {
    const bool first = awaiting_first_.erase(&conn) > 0;
    if (ok) {
      idle_.push_back(&conn);
      dispatch();
    } else {
      ++stats_.errors.connect;
      conn.connect_after(100ms);
    }
    if (first && awaiting_first_.empty()) start_schedule();
  }

  void on_done(HttpConn& conn, const Exchange& ex) override {
    --busy_;
    if (ex.failure == Failure::None && ex.done >= window_start_ && ex.done < window_end_) ++stats_.done_in_window;
    if (ex.origin >= window_start_ && ex.origin < window_end_) record(ex);
    if (conn.open()) idle_.push_back(&conn);
    else conn.connect();  // broken or closed by the server: reopen
    dispatch();
    if (draining_ && queue_.empty() && busy_ == 0) finish();
  }

  void record(const Exchange& ex) {
    if (ex.failure != Failure::None) {
      stats_.errors.count(ex.failure);
      return;
    }
    ++stats_.responses;
    ++stats_.statuses[ex.status];
    if (!is_2xx(ex.status)) ++stats_.errors.status;
    stats_.latency.record(micros(ex.done - ex.origin));
    stats_.service.record(micros(ex.done - ex.sent));
    if (ex.events > 0) stats_.ttft.record(micros(ex.first_event - ex.origin));
  }

  void start_schedule() {
    start_ = Clock::now();
    window_start_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.warmup_s));
    window_end_ = window_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.duration_s));
    on_tick();
  }

  Clock::time_point due(int64_t i) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / rate_));
  }

  void on_tick() {
    const Clock::time_point now = Clock::now();
    for (; due(next_) < window_end_ && due(next_) <= now; ++next_) queue_.push_back(due(next_));
    dispatch();
    if (due(next_) < window_end_) {
      tick_.expires_at(due(next_));
      tick_.async_wait([this](beast::error_code ec) {
        if (!ec) on_tick();
      });
      return;
    }
    draining_ = true;  // all requests are due; let the queued and in-flight ones finish
    deadline_.expires_at(window_end_ + std::chrono::milliseconds(opt_.timeout_ms) + 100ms);
    deadline_.async_wait([this](beast::error_code ec) {
      if (!ec) finish();
    });
    if (queue_.empty() && busy_ == 0) finish();
  }

  void dispatch() {
    while (!queue_.empty() && !idle_.empty()) {
      HttpConn* conn = idle_.front();
      idle_.pop_front();
      conn->send(queue_.front());
      queue_.pop_front();
      ++busy_;
      ++stats_.sent;
    }
  }

  void finish() {
    // whatever is still waiting at the deadline never got an answer in time
    for (Clock::time_point t : queue_)
      if (t >= window_start_) ++stats_.errors.timeout;
    for (const auto& c : conns_)
      if (c->busy() && c->current().origin >= window_start_) ++stats_.errors.timeout;
    io_.stop();
  }

  const Options& opt_;
  double rate_;
  asio::io_context io_;
  ConnectGate gate_;
  std::vector<std::unique_ptr<HttpConn>> conns_;
  std::unordered_set<HttpConn*> awaiting_first_;  // connections whose first connect is pending
  std::deque<HttpConn*> idle_;
  std::deque<Clock::time_point> queue_;  // due times of requests waiting for a connection
  int busy_ = 0;
  asio::steady_timer tick_{io_};
  asio::steady_timer deadline_{io_};
  bool draining_ = false;
  int64_t next_ = 0;
  Clock::time_point start_;
  Clock::time_point window_start_ = Clock::time_point::max();
  Clock::time_point window_end_ = Clock::time_point::max();
  RateStats stats_;
};

void print_summary(const Options& opt, const RateStats& s) {
  const double achieved = static_cast<double>(s.done_in_window) / opt.duration_s;
  std::printf("rate mode: %s http://%s:%u%s at %g req/s, %g s measured after %g s warm-up, %d connections, %d thread(s)\n",
              opt.method.c_str(), opt.host.c_str(), opt.port, opt.path.c_str(), opt.rate, opt.duration_s,
              opt.warmup_s, opt.connections, opt.threads);
  std::printf("  requests:  %lld measured responses, %lld finished inside the window (%.1f req/s), %lld sent in all\n",
              static_cast<long long>(s.responses), static_cast<long long>(s.done_in_window), achieved,
              static_cast<long long>(s.sent));
  std::printf("  errors:    connect %lld, read/write %lld, non-2xx %lld, timeout %lld\n",
              static_cast<long long>(s.errors.connect), static_cast<long long>(s.errors.read_write),
              static_cast<long long>(s.errors.status), static_cast<long long>(s.errors.timeout));
  std::printf("  status:   ");
  for (const auto& [code, n] : s.statuses) std::printf(" %d x %lld", code, static_cast<long long>(n));
  std::printf("\n");
  const auto row = [](const char* name, const Histogram& h) {
    std::printf("  %-47s p50 %lld  p90 %lld  p99 %lld  p99.9 %lld  max %lld us\n", name,
                static_cast<long long>(h.percentile(50)), static_cast<long long>(h.percentile(90)),
                static_cast<long long>(h.percentile(99)), static_cast<long long>(h.percentile(99.9)),
                static_cast<long long>(h.max()));
  };
  row("latency (due -> last byte, CO-corrected):", s.latency);
  row("service time (sent -> last byte, uncorrected):", s.service);
  if (s.ttft.count() > 0) row("ttft (due -> first data: event):", s.ttft);
  std::printf("RESULT mode=rate target_rps=%g achieved_rps=%.1f requests=%lld errors=%lld p50_us=%lld p90_us=%lld "
              "p99_us=%lld p999_us=%lld max_us=%lld ttft_p50_us=%lld ttft_p99_us=%lld\n",
              opt.rate, achieved, static_cast<long long>(s.responses), static_cast<long long>(s.errors.total()),
              static_cast<long long>(s.latency.percentile(50)), static_cast<long long>(s.latency.percentile(90)),
              static_cast<long long>(s.latency.percentile(99)), static_cast<long long>(s.latency.percentile(99.9)),
              static_cast<long long>(s.latency.max()), static_cast<long long>(s.ttft.percentile(50)),
              static_cast<long long>(s.ttft.percentile(99)));
}

}  // namespace

int run_rate(const Options& opt, const Target& target) {
  std::vector<std::unique_ptr<RateWorker>> workers;
  for (int t = 0; t < opt.threads; ++t)
    workers.push_back(std::make_unique<RateWorker>(opt, target, opt.rate / opt.threads,
                                                   share_of(opt.connections, opt.threads, t),
                                                   std::max(1, 500 / opt.threads)));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  for (auto& t : threads) t.join();

  RateStats total;
  for (const auto& w : workers) total.merge(w->stats());
  print_summary(opt, total);
  return 0;
}

}  // namespace fathom::loadgen
