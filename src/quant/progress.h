// A one-line progress bar on a terminal stream (stderr): "label [#####.....] 3/10".
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace fathom::quant {

class ProgressBar {
 public:
  /// `out` nullptr draws nothing (tests).
  ProgressBar(std::FILE* out, std::string label, int64_t total);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Moves the bar to `done` of `total` and redraws it.
  void update(int64_t done);

 private:
  std::FILE* out_;
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
};

}  // namespace fathom::quant
