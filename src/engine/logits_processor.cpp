#include "engine/logits_processor.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace fathom::engine {

void apply_penalties(const RequestParams& p, const std::vector<int32_t>& tokens,
                     int64_t num_prompt_tokens, float* logits, int64_t vocab) {
  if (p.repetition_penalty != 1.0f) {
    std::vector<char> seen(static_cast<size_t>(vocab), 0);
    for (int32_t t : tokens) seen[t] = 1;
    for (int64_t v = 0; v < vocab; ++v)
      if (seen[v]) logits[v] = logits[v] > 0 ? logits[v] / p.repetition_penalty
                                             : logits[v] * p.repetition_penalty;
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::unordered_map<int32_t, int32_t> counts;
    for (size_t i = static_cast<size_t>(num_prompt_tokens); i < tokens.size(); ++i) ++counts[tokens[i]];
    for (const auto& [t, c] : counts)
      logits[t] -= p.frequency_penalty * static_cast<float>(c) + p.presence_penalty;
  }
  for (const auto& [t, bias] : p.logit_bias) logits[t] += bias;
}

bool apply_constraint(grammar::TokenMatcher& m, float* logits, int64_t vocab) {
  const std::vector<uint64_t>& mask = m.allowed();
  grammar::apply_token_mask(mask, logits, vocab);
  for (size_t w = 0; w < mask.size() && static_cast<int64_t>(w * 64) < vocab; ++w) {
    const int64_t left = vocab - static_cast<int64_t>(w * 64);
    const uint64_t bits = left < 64 ? mask[w] & ((uint64_t{1} << left) - 1) : mask[w];
    if (bits != 0) return true;
  }
  return false;
}

GeneratedToken make_logprobs(const float* logits, int64_t vocab, int32_t token, int32_t top_n) {
  const float mx = *std::max_element(logits, logits + vocab);
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v] - mx));
  const double log_z = static_cast<double>(mx) + std::log(sum);
  GeneratedToken g;
  g.token_id = token;
  g.logprob = static_cast<float>(logits[token] - log_z);
  if (top_n > 0) {
    std::vector<int32_t> idx(static_cast<size_t>(vocab));
    std::iota(idx.begin(), idx.end(), 0);
    const int64_t k = std::min<int64_t>(top_n, vocab);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    for (int64_t i = 0; i < k; ++i)
      g.top_logprobs.push_back(
          {idx[i], std::max(kMinLogprob, static_cast<float>(logits[idx[i]] - log_z))});
  }
  return g;
}

}  // namespace fathom::engine
