// A fixed-bucket histogram with Prometheus semantics (cumulative buckets, sum, count).
// Thread-safe: observe() and snapshot() may race.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace fathom {

struct HistogramSnapshot {
  std::vector<double> upper_bounds;    ///< ascending; +Inf is implicit
  std::vector<uint64_t> bucket_counts; ///< per bucket (not cumulative), size upper_bounds + 1
  double sum = 0.0;
  uint64_t count = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  HistogramSnapshot snapshot() const;

  /// Latency buckets in seconds, 1 ms .. 60 s.
  static std::vector<double> latency_buckets();

 private:
  mutable std::mutex mu_;
  HistogramSnapshot s_;
};

}  // namespace fathom
