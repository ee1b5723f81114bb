#include "model/arch/moe_router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace fathom::model {
namespace {

std::vector<int32_t> sorted(std::vector<int32_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(MoeRouterTest, GreedySoftmaxPicksTheLargestAndScales) {
  MoeConfig cfg{.num_routed_experts = 4, .num_experts_per_tok = 2, .routed_scaling_factor = 2.0};
  const std::vector<float> logits = {0.0f, 3.0f, 1.0f, 2.0f};
  RoutingResult r = route_tokens(cfg, logits.data(), 1, {});
  EXPECT_EQ(sorted(r.expert_idx), (std::vector<int32_t>{1, 3}));
  double denom = 1 + std::exp(3.0) + std::exp(1.0) + std::exp(2.0);
  for (int i = 0; i < 2; ++i) {
    const double p = std::exp(static_cast<double>(logits[r.expert_idx[i]])) / denom;
    EXPECT_NEAR(r.weight[i], 2.0 * p, 1e-6);
  }
}

TEST(MoeRouterTest, GroupLimitedGreedyOnlyChoosesFromTheBestGroups) {
  // 4 groups of 2; the best single experts are in groups 0 and 3 (topk_group = 2), so expert 4
  // (group 2, second-highest overall sum) must not be chosen.
  MoeConfig cfg{.num_routed_experts = 8, .num_experts_per_tok = 2,
                .topk_method = TopkMethod::kGroupLimitedGreedy, .n_group = 4, .topk_group = 2};
  const std::vector<float> logits = {5.0f, 0.0f, 1.0f, 1.0f, 4.0f, 4.0f, 0.0f, 4.5f};
  RoutingResult r = route_tokens(cfg, logits.data(), 1, {});
  EXPECT_EQ(sorted(r.expert_idx), (std::vector<int32_t>{0, 7}));
}

TEST(MoeRouterTest, NoauxTcChoosesWithBiasButWeighsWithoutIt) {
  MoeConfig cfg{.num_routed_experts = 4, .num_experts_per_tok = 1,
                .topk_method = TopkMethod::kNoauxTc, .scoring_func = ScoringFunc::kSigmoid,
                .n_group = 2, .topk_group = 1, .routed_scaling_factor = 2.5, .norm_topk_prob = false};
  const std::vector<float> logits = {2.0f, 0.0f, 0.0f, 0.0f};
  const std::vector<float> bias = {0.0f, 0.0f, 0.0f, 5.0f};  // pushes group 1 / expert 3
  RoutingResult r = route_tokens(cfg, logits.data(), 1, bias);
  ASSERT_EQ(r.expert_idx.size(), 1u);
  EXPECT_EQ(r.expert_idx[0], 3);
  EXPECT_NEAR(r.weight[0], 2.5 * 0.5, 1e-6);  // sigmoid(0) * scale, no bias in the weight
}

TEST(MoeRouterTest, NormTopkProbNormalisesBeforeScaling) {
  MoeConfig cfg{.num_routed_experts = 4, .num_experts_per_tok = 2,
                .topk_method = TopkMethod::kNoauxTc, .scoring_func = ScoringFunc::kSigmoid,
                .n_group = 1, .topk_group = 1, .routed_scaling_factor = 3.0, .norm_topk_prob = true};
  const std::vector<float> logits = {1.0f, -1.0f, 2.0f, 0.0f};
  RoutingResult r = route_tokens(cfg, logits.data(), 1, std::vector<float>(4, 0.0f));
  EXPECT_NEAR(r.weight[0] + r.weight[1], 3.0, 1e-5);
}

}  // namespace
}  // namespace fathom::model
