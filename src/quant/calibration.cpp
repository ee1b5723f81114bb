#include "quant/calibration.h"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.h"
#include "quant/progress.h"
#include "quant/window_forward.h"

namespace fathom::quant {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string input_key(const std::string& prefix) {
  for (const auto& [from, to] : {std::pair<const char*, const char*>{"k_proj", "q_proj"},
                                 {"v_proj", "q_proj"},
                                 {"up_proj", "gate_proj"}})
    if (ends_with(prefix, from))
      return prefix.substr(0, prefix.size() - std::char_traits<char>::length(from)) + to;
  return prefix;
}

HessianCollector::HessianCollector(const std::set<std::string>& keys) {
  for (const std::string& k : keys) acc_[k];
}

void HessianCollector::observe(const std::string& prefix, const float* x, int64_t rows,
                               int64_t cols) {
  auto it = acc_.find(prefix);
  if (it == acc_.end() || rows == 0) return;
  Acc& a = it->second;
  if (a.sum.size() == 0) a.sum = Eigen::MatrixXf::Zero(cols, cols);
  if (a.sum.cols() != cols) return;  // a different input under the same name: not ours
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> X(
      x, rows, cols);
  // sum += X^T X, by column panels of the lower triangle across the thread pool.
  constexpr int64_t kPanel = 128;
  const int64_t panels = (cols + kPanel - 1) / kPanel;
  default_thread_pool().parallel_for(panels, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c0 = p * kPanel, w = std::min(kPanel, cols - c0);
      a.sum.block(c0, c0, cols - c0, w).noalias() +=
          X.rightCols(cols - c0).transpose() * X.middleCols(c0, w);
    }
  });
  a.rows += rows;
}

Result<Eigen::MatrixXf> HessianCollector::take(const std::string& key) {
  auto it = acc_.find(key);
  if (it == acc_.end() || it->second.rows == 0)
    return invalid_argument("calibration: no activations reached " + key);
  Eigen::MatrixXf h = std::move(it->second.sum);
  const float f = 2.0f / static_cast<float>(it->second.rows);
  h = h.selfadjointView<Eigen::Lower>();
  h *= f;
  acc_.erase(it);
  return h;
}

ActivationSampler::ActivationSampler(int64_t row_stride, int64_t max_rows)
    : row_stride_(std::max<int64_t>(1, row_stride)), max_rows_(max_rows) {}

void ActivationSampler::observe(const std::string& prefix, const float* x, int64_t rows,
                                int64_t cols) {
  if (input_key(prefix) != prefix) return;  // a sibling of the key layer: same rows
  Rows& r = rows_[prefix];
  if (r.count == 0) r.cols = cols;
  if (r.cols != cols) return;
  int64_t& seen = seen_[prefix];
  for (int64_t i = 0; i < rows; ++i, ++seen) {
    if (seen % row_stride_ != 0 || r.count >= max_rows_) continue;
    r.values.insert(r.values.end(), x + i * cols, x + (i + 1) * cols);
    ++r.count;
  }
}

const ActivationSampler::Rows* ActivationSampler::rows(const std::string& key) const {
  auto it = rows_.find(key);
  return it == rows_.end() || it->second.count == 0 ? nullptr : &it->second;
}

void ChannelNormCollector::observe(const std::string& prefix, const float* x, int64_t rows,
                                   int64_t cols) {
  if (input_key(prefix) != prefix || rows == 0) return;
  Sums& s = sums_[prefix];
  if (s.sum_sq.empty()) s.sum_sq.assign(static_cast<size_t>(cols), 0.0);
  if (static_cast<int64_t>(s.sum_sq.size()) != cols) return;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      s.sum_sq[c] += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
  s.rows += rows;
  ++s.calls;
}

std::vector<float> ChannelNormCollector::norms(const std::string& key) const {
  const Sums* s = sums(key);
  if (!s) return {};
  std::vector<float> out(s->sum_sq.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(std::sqrt(s->sum_sq[i]));
  return out;
}

const ChannelNormCollector::Sums* ChannelNormCollector::sums(const std::string& key) const {
  auto it = sums_.find(key);
  return it == sums_.end() || it->second.rows == 0 ? nullptr : &it->second;
}

Status run_calibration(model::Model& m, const std::vector<std::span<const int32_t>>& windows,
                       model::Model::LinearObserver observer, std::FILE* progress,
                       const std::string& label) {
  for (const auto& w : windows)
    if (static_cast<int64_t>(w.size()) > m.config().max_position_embeddings)
      return invalid_argument("--ctx: " + std::to_string(w.size()) + " exceeds the model's " +
                              std::to_string(m.config().max_position_embeddings) + " positions");
  m.set_linear_observer(std::move(observer));
  ProgressBar bar(progress, label, static_cast<int64_t>(windows.size()));
  std::vector<float> logits;
  Status s = ok_status();
  for (size_t i = 0; i < windows.size() && s.ok(); ++i) {
    s = forward_window(m, windows[i], static_cast<int64_t>(windows[i].size()) - 1, logits);
    bar.update(static_cast<int64_t>(i + 1));
  }
  m.set_linear_observer(nullptr);
  return s;
}

}  // namespace fathom::quant
