#include "quant/eval_quality.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "quant/progress.h"
#include "quant/window_forward.h"

namespace fathom::quant {

namespace {

/// log-softmax of one row into out (double).
void log_softmax(const float* logits, int64_t vocab, std::vector<double>& out) {
  out.resize(static_cast<size_t>(vocab));
  double mx = logits[0];
  for (int64_t i = 1; i < vocab; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < vocab; ++i) out[i] = static_cast<double>(logits[i]) - lse;
}

int64_t argmax(const float* v, int64_t n) { return std::max_element(v, v + n) - v; }

}  // namespace

TokenComparison compare_token(const float* logits, const float* base_logits, int64_t vocab,
                              int32_t target) {
  thread_local std::vector<double> lp, lb;
  TokenComparison c;
  log_softmax(logits, vocab, lp);
  c.nll = -lp[target];
  if (!base_logits) return c;
  log_softmax(base_logits, vocab, lb);
  c.base_nll = -lb[target];
  double kl = 0.0;
  for (int64_t i = 0; i < vocab; ++i) kl += std::exp(lb[i]) * (lb[i] - lp[i]);
  c.kl = std::max(0.0, kl);  // rounding can leave a tiny negative for identical rows
  c.same_top = argmax(logits, vocab) == argmax(base_logits, vocab);
  return c;
}

Result<QualityReport> evaluate_quality(model::Model& m, model::Model* base,
                                       std::span<const int32_t> tokens,
                                       const QualityOptions& opts) {
  const int64_t vocab = m.config().vocab_size;
  if (base && base->config().vocab_size != vocab)
    return invalid_argument("--base: vocabulary of " + std::to_string(base->config().vocab_size) +
                            " tokens differs from the model's " + std::to_string(vocab));
  if (opts.ctx < 2) return invalid_argument("--ctx: must be at least 2");
  if (opts.ctx > m.config().max_position_embeddings)
    return invalid_argument("--ctx: " + std::to_string(opts.ctx) + " exceeds the model's " +
                            std::to_string(m.config().max_position_embeddings) + " positions");
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab)
      return invalid_argument("--text: token id " + std::to_string(t) +
                              " is outside the model's vocabulary of " + std::to_string(vocab));
  const auto windows = split_windows(tokens, opts.ctx, opts.max_windows);
  if (windows.empty())
    return invalid_argument("--text: " + std::to_string(tokens.size()) +
                            " tokens do not fill one window of --ctx " + std::to_string(opts.ctx));

  const int64_t first = opts.ctx / 2;
  QualityReport r;
  r.has_base = base != nullptr;
  double nll = 0.0, base_nll = 0.0, kl_sum = 0.0;
  int64_t agree = 0;
  std::vector<double> kls;
  std::vector<float> logits, base_logits;
  ProgressBar bar(opts.progress, "perplexity", static_cast<int64_t>(windows.size()));
  for (const auto& w : windows) {
    FATHOM_RETURN_IF_ERROR(forward_window(m, w, first, logits));
    if (base) FATHOM_RETURN_IF_ERROR(forward_window(*base, w, first, base_logits));
    for (int64_t i = first; i + 1 < static_cast<int64_t>(w.size()); ++i) {
      const int64_t row = i - first;
      const TokenComparison c =
          compare_token(logits.data() + row * vocab,
                        base ? base_logits.data() + row * vocab : nullptr, vocab, w[i + 1]);
      nll += c.nll;
      base_nll += c.base_nll;
      kl_sum += c.kl;
      agree += c.same_top ? 1 : 0;
      if (base) kls.push_back(c.kl);
      ++r.scored_tokens;
    }
    ++r.windows;
    bar.update(r.windows);
  }
  const double n = static_cast<double>(r.scored_tokens);
  r.perplexity = std::exp(nll / n);
  if (base) {
    r.base_perplexity = std::exp(base_nll / n);
    r.mean_kl = kl_sum / n;
    r.top1_agreement = static_cast<double>(agree) / n;
    std::sort(kls.begin(), kls.end());
    // nearest-rank percentile, as llama.cpp's percentile of the sorted KL values
    const size_t idx = std::min(kls.size() - 1, static_cast<size_t>(std::ceil(0.99 * n)) - 1);
    r.p99_kl = kls[idx];
    r.max_kl = kls.back();
  }
  return r;
}

std::string format_quality_report(const QualityReport& r) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof(buf), "windows: %lld, scored tokens: %lld\nperplexity: %.4f\n",
                static_cast<long long>(r.windows), static_cast<long long>(r.scored_tokens),
                r.perplexity);
  out += buf;
  if (r.has_base) {
    std::snprintf(buf, sizeof(buf),
                  "base perplexity: %.4f\nmean KL divergence (base || model): %.6f\n"
                  "99th percentile KL: %.6f\nmax KL: %.6f\ntop-1 agreement: %.2f%%\n",
                  r.base_perplexity, r.mean_kl, r.p99_kl, r.max_kl, 100.0 * r.top1_agreement);
    out += buf;
  }
  return out;
}

}  // namespace fathom::quant
