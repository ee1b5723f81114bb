// Calibration: run the model over calibration text and gather, through the forward pass's
// linear observer, what the quantizers need from each linear layer's inputs.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/model.h"

namespace fathom::quant {

/// The layer whose input `prefix` shares: q/k/v_proj read the same normed rows (-> q_proj),
/// gate/up_proj too (-> gate_proj); any other layer is its own key.
std::string input_key(const std::string& prefix);

/// Accumulates H = 2/N sum_x x x^T (N = rows seen) for the inputs of the chosen keys.
class HessianCollector {
 public:
  explicit HessianCollector(const std::set<std::string>& keys);
  /// A LinearObserver: counts only the key layer itself (its siblings see the same rows).
  void observe(const std::string& prefix, const float* x, int64_t rows, int64_t cols);
  /// The finished Hessian of `key` (moved out), or an error when it saw no rows.
  Result<Eigen::MatrixXf> take(const std::string& key);

 private:
  struct Acc {
    Eigen::MatrixXf sum;  ///< lower triangle of sum x x^T
    int64_t rows = 0;
  };
  std::map<std::string, Acc> acc_;
};

/// Keeps, for each observed key, every row_stride-th input row (at most max_rows of them):
/// the activations AWQ's scale search and Wanda's importance read.
class ActivationSampler {
 public:
  ActivationSampler(int64_t row_stride, int64_t max_rows);
  void observe(const std::string& prefix, const float* x, int64_t rows, int64_t cols);

  struct Rows {
    int64_t cols = 0;
    int64_t count = 0;
    std::vector<float> values;  ///< [count, cols]
  };
  /// nullptr when the key saw nothing.
  const Rows* rows(const std::string& key) const;

 private:
  int64_t row_stride_, max_rows_;
  std::map<std::string, int64_t> seen_;
  std::map<std::string, Rows> rows_;
};

/// sqrt(sum over rows of x^2) per input channel of each observed key: Wanda's ||X_j||; the
/// sums themselves over rows and calls give llama.cpp's importance matrix (quant/imatrix.h).
class ChannelNormCollector {
 public:
  void observe(const std::string& prefix, const float* x, int64_t rows, int64_t cols);
  /// Empty when the key saw nothing.
  std::vector<float> norms(const std::string& key) const;

  struct Sums {
    std::vector<double> sum_sq;  ///< per input channel
    int64_t rows = 0;            ///< rows summed
    int32_t calls = 0;           ///< observer calls (forward passes) that reached the key
  };
  /// nullptr when the key saw nothing.
  const Sums* sums(const std::string& key) const;

 private:
  std::map<std::string, Sums> sums_;
};

/// Forwards every window through `m` with `observer` installed (removed afterwards), drawing
/// a progress bar labelled `label` on `progress` (nullptr: none).
Status run_calibration(model::Model& m, const std::vector<std::span<const int32_t>>& windows,
                       model::Model::LinearObserver observer, std::FILE* progress,
                       const std::string& label);

}  // namespace fathom::quant
