// Injected time: production code takes a const Clock&; tests pass a FakeClock and advance it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace fathom {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
  using WallTime = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  /// The calendar time (schedules in a time zone); moves with now() on a FakeClock.
  virtual WallTime wall_now() const { return std::chrono::system_clock::now(); }
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

/// Thread-safe: one thread may advance it while others read it.
class FakeClock final : public Clock {
 public:
  FakeClock() = default;
  /// Starts at `start` with the calendar at `wall_start`.
  FakeClock(TimePoint start, WallTime wall_start)
      : now_ns_(start.time_since_epoch().count()),
        wall_origin_(wall_start - (start - TimePoint{})) {}
  TimePoint now() const override { return TimePoint(Duration(now_ns_.load())); }
  WallTime wall_now() const override {
    return wall_origin_ + std::chrono::duration_cast<WallTime::duration>(now().time_since_epoch());
  }
  void advance(Duration d) { now_ns_ += d.count(); }

 private:
  std::atomic<int64_t> now_ns_{0};
  WallTime wall_origin_{};
};

}  // namespace fathom
