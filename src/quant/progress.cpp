#include "quant/progress.h"

#include <algorithm>

namespace fathom::quant {

namespace {
constexpr int kWidth = 30;
}

ProgressBar::ProgressBar(std::FILE* out, std::string label, int64_t total)
    : out_(out), label_(std::move(label)), total_(std::max<int64_t>(total, 1)) {
  update(0);
}

ProgressBar::~ProgressBar() {
  if (out_) std::fputc('\n', out_);
}

void ProgressBar::update(int64_t done) {
  done_ = std::clamp<int64_t>(done, 0, total_);
  if (!out_) return;
  const int filled = static_cast<int>(kWidth * done_ / total_);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(out_, "\r%s [%s] %lld/%lld", label_.c_str(), bar.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_));
  std::fflush(out_);
}

}  // namespace fathom::quant
