// Log-linear latency histogram (HdrHistogram's layout, simplified). Values below 256 get a
// bucket each (exact); above that every power-of-two range [2^k, 2^(k+1)) is split into 128
// equal buckets, so a bucket is never wider than 1/128 (0.78 %) of its lower edge. Values are
// microseconds; anything at or above 2^36 us (~19 hours) is clamped into the top bucket.
// Not thread-safe: one per worker, merged at the end.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fathom::loadgen {

class Histogram {
 public:
  void record(int64_t value) {
    const uint64_t v = static_cast<uint64_t>(std::clamp<int64_t>(value, 0, kLimit - 1));
    ++counts_[bucket_of(v)];
    ++count_;
    max_ = std::max(max_, static_cast<int64_t>(v));
  }

  void merge(const Histogram& other) {
    for (size_t b = 0; b < counts_.size(); ++b) counts_[b] += other.counts_[b];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  int64_t count() const { return count_; }
  int64_t max() const { return max_; }

  /// The smallest value v such that at least p % of the recorded values are <= v, reported as
  /// the upper edge of v's bucket (never above the exact max). 0 when nothing was recorded.
  int64_t percentile(double p) const {
    if (count_ == 0) return 0;
    // rank of the wanted value, 1-based; the epsilon keeps 99 % of 5000 at 4950, not 4951
    const int64_t rank = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(p / 100.0 * count_ - 1e-9)),
                                             1, count_);
    int64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::min(upper_edge(static_cast<int>(b)), max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 8;
  static constexpr int kSub = 1 << kSubBits;  // exact buckets 0..255
  static constexpr int kHalf = kSub / 2;      // buckets per power of two above that
  static constexpr int kMaxBits = 36;
  static constexpr int64_t kLimit = int64_t{1} << kMaxBits;
  static constexpr int kBuckets = kSub + (kMaxBits - kSubBits) * kHalf;

  // v in [2^m, 2^(m+1)), m >= 8: shift = m - 7 leaves a mantissa in [128, 256).
  static int bucket_of(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int shift = std::bit_width(v) - kSubBits;
    return kSub + (shift - 1) * kHalf + static_cast<int>((v >> shift) - kHalf);
  }

  static int64_t upper_edge(int bucket) {
    if (bucket < kSub) return bucket;
    const int k = bucket - kSub;
    const int shift = k / kHalf + 1;
    const int64_t mantissa = k % kHalf + kHalf;
    return ((mantissa + 1) << shift) - 1;
  }

  std::vector<int64_t> counts_ = std::vector<int64_t>(kBuckets);
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace fathom::loadgen
