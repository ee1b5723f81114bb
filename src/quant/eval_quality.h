// Quality of a model over held-out text, the way llama.cpp's perplexity tool reports it:
// perplexity, and against a base model the KL divergence of the token distributions
// KL(base || model), its 99th percentile and the top-1 agreement.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "base/status.h"
#include "model/model.h"

namespace fathom::quant {

/// One scored position: the model's (and base's) negative log-likelihood of the true next
/// token, KL(base || model) and whether both put the same token first.
struct TokenComparison {
  double nll = 0.0;
  double base_nll = 0.0;
  double kl = 0.0;
  bool same_top = false;
};

/// logits, base_logits: [vocab] rows for the same position; base_logits may be nullptr (then
/// only nll is set). Softmaxes in double.
TokenComparison compare_token(const float* logits, const float* base_logits, int64_t vocab,
                              int32_t target);

struct QualityOptions {
  int64_t ctx = 512;              ///< window length; the second half of each window is scored
  int64_t max_windows = 0;        ///< 0 = every full window of the text
  std::FILE* progress = nullptr;  ///< progress bar stream (stderr in the CLI)
};

struct QualityReport {
  int64_t windows = 0;
  int64_t scored_tokens = 0;
  double perplexity = 0.0;
  bool has_base = false;
  double base_perplexity = 0.0;
  double mean_kl = 0.0;
  double p99_kl = 0.0;
  double max_kl = 0.0;
  double top1_agreement = 0.0;  ///< fraction in [0, 1]
};

/// Scores `tokens` in windows of opts.ctx (llama.cpp's scheme: each window starts from an empty
/// cache and its second half is scored, so every scored token has at least ctx/2 of context).
/// `base` (may be nullptr) must have the same vocabulary as `m`.
Result<QualityReport> evaluate_quality(model::Model& m, model::Model* base,
                                       std::span<const int32_t> tokens, const QualityOptions& opts);

/// Multi-line human-readable summary.
std::string format_quality_report(const QualityReport& r);

}  // namespace fathom::quant
