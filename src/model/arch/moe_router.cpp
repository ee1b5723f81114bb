#include "model/arch/moe_router.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fathom::model {
namespace {

// Indices of the k largest values (ties: lower index first, like a stable sort).
std::vector<int32_t> top_k(const std::vector<float>& v, int64_t k) {
  std::vector<int32_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
    return v[a] > v[b] || (v[a] == v[b] && a < b);
  });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

}  // namespace

RoutingResult route_tokens(const MoeConfig& cfg, const float* router_logits, int64_t num_tokens,
                           const std::vector<float>& correction_bias) {
  const int64_t num_experts = cfg.num_routed_experts, k = cfg.num_experts_per_tok;
  const int64_t group_size = num_experts / std::max<int64_t>(cfg.n_group, 1);
  RoutingResult out;
  out.expert_idx.resize(static_cast<size_t>(num_tokens * k));
  out.weight.resize(out.expert_idx.size());

  std::vector<float> scores(num_experts), choice(num_experts), group_score(cfg.n_group);
  for (int64_t t = 0; t < num_tokens; ++t) {
    const float* logit = router_logits + t * num_experts;
    if (cfg.scoring_func == ScoringFunc::kSigmoid) {
      for (int64_t e = 0; e < num_experts; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logit[e]));
    } else {
      const float mx = *std::max_element(logit, logit + num_experts);
      double sum = 0.0;
      for (int64_t e = 0; e < num_experts; ++e) sum += scores[e] = std::exp(logit[e] - mx);
      for (int64_t e = 0; e < num_experts; ++e) scores[e] = static_cast<float>(scores[e] / sum);
    }
    choice = scores;
    if (cfg.topk_method == TopkMethod::kNoauxTc && !correction_bias.empty())
      for (int64_t e = 0; e < num_experts; ++e) choice[e] += correction_bias[e];

    if (cfg.topk_method != TopkMethod::kGreedy && cfg.n_group > 1) {
      for (int64_t g = 0; g < cfg.n_group; ++g) {
        std::vector<float> members(choice.begin() + g * group_size,
                                   choice.begin() + (g + 1) * group_size);
        std::sort(members.begin(), members.end(), std::greater<>());
        group_score[g] = cfg.topk_method == TopkMethod::kNoauxTc
                             ? members[0] + (members.size() > 1 ? members[1] : 0.0f)
                             : members[0];
      }
      std::vector<char> keep(cfg.n_group, 0);
      for (int32_t g : top_k(group_score, cfg.topk_group)) keep[g] = 1;
      // Like the reference, experts of dropped groups score 0 (not -inf).
      for (int64_t e = 0; e < num_experts; ++e)
        if (!keep[e / group_size]) choice[e] = 0.0f;
    }
    const std::vector<int32_t> chosen = top_k(choice, k);
    double sum = 0.0;
    for (int64_t i = 0; i < k; ++i) {
      out.expert_idx[t * k + i] = chosen[i];
      out.weight[t * k + i] = scores[chosen[i]];
      sum += scores[chosen[i]];
    }
    for (int64_t i = 0; i < k; ++i) {
      float w = out.weight[t * k + i];
      if (cfg.norm_topk_prob) w = static_cast<float>(w / (sum + 1e-20));
      out.weight[t * k + i] = w * static_cast<float>(cfg.routed_scaling_factor);
    }
  }
  return out;
}

}  // namespace fathom::model
