#include "base/histogram.h"

#include <algorithm>

namespace fathom {

Histogram::Histogram(std::vector<double> upper_bounds) {
  std::sort(upper_bounds.begin(), upper_bounds.end());
  s_.upper_bounds = std::move(upper_bounds);
  s_.bucket_counts.assign(s_.upper_bounds.size() + 1, 0);
}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(s_.upper_bounds.begin(), s_.upper_bounds.end(), value);
  const size_t idx = static_cast<size_t>(it - s_.upper_bounds.begin());
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.bucket_counts[idx];
  s_.sum += value;
  ++s_.count;
}

HistogramSnapshot Histogram::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

std::vector<double> Histogram::latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5,
          0.75,  1.0,    2.5,   5.0,  7.5,   10.0, 20.0,  30.0, 60.0};
}

}  // namespace fathom
