// Concurrent-streams mode. Each of --streams connections sends the (streaming) request, reads
// the text/event-stream response to its end and at once sends the next, so the server holds K
// streams at all times. Connections ramp up through a ConnectGate (at most 500 connects in
// flight, until the server answers on it); warm-up and the measured window start once every
// connection has had its first response head (or failed once).
// Streams that start inside the window are measured, and are let finish after it ends.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <unordered_set>

#include "histogram.h"
#include "modes.h"

namespace fathom::loadgen {

namespace {

using namespace std::chrono_literals;

/// Streams whose response head arrived and that have not finished, over all workers.
struct OpenGauge {
  std::atomic<int64_t> open{0};
  std::atomic<int64_t> peak{0};

  void inc() {
    const int64_t now = open.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {}
  }
  void dec() { open.fetch_sub(1, std::memory_order_relaxed); }
};

struct StreamStats {
  Histogram ttft;      ///< sent -> first `data:` event, completed streams
  Histogram duration;  ///< sent -> last byte, completed streams
  ErrorCounts errors;
  int64_t completed = 0;  ///< 2xx, ended with `data: [DONE]`, no error event
  int64_t failed = 0;     ///< every other measured stream
  int64_t no_done = 0;
  int64_t error_event = 0;
  int64_t events_in_window = 0;
  int64_t sent = 0;  ///< all streams started, warm-up included
  double ramp_s = 0;

  void merge(const StreamStats& o) {
    ttft.merge(o.ttft);
    duration.merge(o.duration);
    errors.add(o.errors);
    completed += o.completed;
    failed += o.failed;
    no_done += o.no_done;
    error_event += o.error_event;
    events_in_window += o.events_in_window;
    sent += o.sent;
    ramp_s = std::max(ramp_s, o.ramp_s);
  }
};

class StreamsWorker final : public ConnHandler {
 public:
  StreamsWorker(const Options& opt, const Target& target, int streams, int max_connecting, OpenGauge& gauge)
      : opt_(opt), gate_(max_connecting, /*until_first_head=*/true), gauge_(gauge) {
    for (int i = 0; i < streams; ++i)
      conns_.push_back(std::make_unique<HttpConn>(io_, target, gate_, *this, std::chrono::milliseconds(opt.timeout_ms)));
  }

  void run() {
    start_ = Clock::now();
    for (auto& c : conns_) awaiting_first_.insert(c.get());
    for (auto& c : conns_) c->connect();
    io_.run();
  }

  const StreamStats& stats() const { return stats_; }

 private:
  void on_connected(HttpConn& conn, bool ok) override {
    if (!ok) {
      ++stats_.errors.connect;
      if (!stopping_) conn.connect_after(100ms);
      ramped(conn);
    } else if (!stopping_) {
      start_stream(conn);
    }
  }

  void on_head(HttpConn& conn) override {
    gauge_.inc();
    ramped(conn);
  }

  void on_events(int64_t count, Clock::time_point now) override {
    if (now >= window_start_ && now < window_end_) stats_.events_in_window += count;
  }

  void on_done(HttpConn& conn, const Exchange& ex) override {
    --busy_;
    if (ex.status != 0) gauge_.dec();
    else ramped(conn);  // failed before its head
    if (ex.origin >= window_start_ && ex.origin < window_end_) record(ex);
    if (stopping_) {
      if (busy_ == 0) finish();
    } else if (conn.open()) {
      start_stream(conn);
    } else {
      conn.connect();  // broken or closed by the server: reopen, then stream again
    }
  }

  // A stream is completed OK when it got a 2xx head, had no error event and ended with [DONE].
  void record(const Exchange& ex) {
    if (ex.failure != Failure::None) {
      stats_.errors.count(ex.failure);
    } else if (!is_2xx(ex.status)) {
      ++stats_.errors.status;
    } else if (ex.saw_error) {
      ++stats_.error_event;
    } else if (!ex.saw_done) {
      ++stats_.no_done;
    } else {
      ++stats_.completed;
      if (ex.events > 0) stats_.ttft.record(micros(ex.first_event - ex.origin));
      stats_.duration.record(micros(ex.done - ex.origin));
      return;
    }
    ++stats_.failed;
  }

  // The ramp-up ends when every connection got its first response head or failed once.
  void ramped(HttpConn& conn) {
    if (awaiting_first_.erase(&conn) > 0 && awaiting_first_.empty()) start_window();
  }

  void start_stream(HttpConn& conn) {
    conn.send(Clock::now());
    ++busy_;
    ++stats_.sent;
  }

  void start_window() {
    const Clock::time_point now = Clock::now();
    stats_.ramp_s = std::chrono::duration<double>(now - start_).count();
    window_start_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.warmup_s));
    window_end_ = window_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.duration_s));
    end_timer_.expires_at(window_end_);
    end_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      stopping_ = true;  // no new streams; the measured ones may finish until the deadline
      if (busy_ == 0) finish();
    });
    deadline_.expires_at(window_end_ + std::chrono::milliseconds(opt_.timeout_ms) + 100ms);
    deadline_.async_wait([this](beast::error_code ec) {
      if (!ec) finish();
    });
  }

  void finish() {
    for (const auto& c : conns_) {
      if (c->busy() && c->current().origin >= window_start_) {
        ++stats_.failed;
        ++stats_.errors.timeout;
      }
    }
    io_.stop();
  }

  const Options& opt_;
  asio::io_context io_;
  ConnectGate gate_;
  OpenGauge& gauge_;
  std::vector<std::unique_ptr<HttpConn>> conns_;
  std::unordered_set<HttpConn*> awaiting_first_;  // connections still ramping up
  int busy_ = 0;
  bool stopping_ = false;
  asio::steady_timer end_timer_{io_};
  asio::steady_timer deadline_{io_};
  Clock::time_point start_;
  Clock::time_point window_start_ = Clock::time_point::max();
  Clock::time_point window_end_ = Clock::time_point::max();
  StreamStats stats_;
};

void print_summary(const Options& opt, const StreamStats& s, int64_t peak_open) {
  const double events_per_s = static_cast<double>(s.events_in_window) / opt.duration_s;
  std::printf("streams mode: %d concurrent streams, %s http://%s:%u%s, %g s measured after %g s warm-up, %d thread(s)\n",
              opt.streams, opt.method.c_str(), opt.host.c_str(), opt.port, opt.path.c_str(), opt.duration_s,
              opt.warmup_s, opt.threads);
  std::printf("  ramp-up:   every connection answered (or failed) after %.2f s; peak open streams %lld\n", s.ramp_s,
              static_cast<long long>(peak_open));
  std::printf("  streams:   %lld measured: %lld completed OK, %lld failed (no [DONE] %lld, error event %lld); "
              "%lld started in all\n",
              static_cast<long long>(s.completed + s.failed), static_cast<long long>(s.completed),
              static_cast<long long>(s.failed), static_cast<long long>(s.no_done),
              static_cast<long long>(s.error_event), static_cast<long long>(s.sent));
  std::printf("  errors:    connect %lld, read/write %lld, non-2xx %lld, timeout %lld\n",
              static_cast<long long>(s.errors.connect), static_cast<long long>(s.errors.read_write),
              static_cast<long long>(s.errors.status), static_cast<long long>(s.errors.timeout));
  std::printf("  events:    %lld data: events inside the window, %.1f events/s\n",
              static_cast<long long>(s.events_in_window), events_per_s);
  const auto row = [](const char* name, const Histogram& h) {
    std::printf("  %-36s p50 %lld  p90 %lld  p99 %lld  max %lld us\n", name,
                static_cast<long long>(h.percentile(50)), static_cast<long long>(h.percentile(90)),
                static_cast<long long>(h.percentile(99)), static_cast<long long>(h.max()));
  };
  row("ttft (sent -> first data: event):", s.ttft);
  row("stream duration (sent -> last byte):", s.duration);
  std::printf("RESULT mode=streams streams=%d peak_open=%lld completed=%lld failed=%lld events_per_s=%.1f "
              "ttft_p50_us=%lld ttft_p99_us=%lld duration_p50_us=%lld duration_p99_us=%lld\n",
              opt.streams, static_cast<long long>(peak_open), static_cast<long long>(s.completed),
              static_cast<long long>(s.failed), events_per_s, static_cast<long long>(s.ttft.percentile(50)),
              static_cast<long long>(s.ttft.percentile(99)), static_cast<long long>(s.duration.percentile(50)),
              static_cast<long long>(s.duration.percentile(99)));
}

}  // namespace

int run_streams(const Options& opt, const Target& target) {
  OpenGauge gauge;
  std::vector<std::unique_ptr<StreamsWorker>> workers;
  for (int t = 0; t < opt.threads; ++t)
    workers.push_back(std::make_unique<StreamsWorker>(opt, target, share_of(opt.streams, opt.threads, t),
                                                      std::max(1, 500 / opt.threads), gauge));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  for (auto& t : threads) t.join();

  StreamStats total;
  for (const auto& w : workers) total.merge(w->stats());
  print_summary(opt, total, gauge.peak.load());
  return 0;
}

}  // namespace fathom::loadgen
