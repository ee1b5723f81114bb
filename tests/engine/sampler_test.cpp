#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace fathom::engine {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};

TEST(SamplerTest, TemperatureZeroIsArgmaxWithLowestIdOnTies) {
  Sampler s(1);
  EXPECT_EQ(s.sample(kLogits.data(), 5, {}), 1);
}

TEST(SamplerTest, SameSeedSameTokens) {
  SamplingParams p{.temperature = 1.0f, .seed = 42};
  Sampler a(p.seed), b(p.seed);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.sample(kLogits.data(), 5, p), b.sample(kLogits.data(), 5, p));
}

TEST(SamplerTest, TopKOneIsGreedyAndTopKLimitsTheSupport) {
  Sampler s(7);
  SamplingParams k1{.temperature = 1.0f, .top_k = 1};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits.data(), 5, k1), 1);
  SamplingParams k2{.temperature = 5.0f, .top_k = 2};
  for (int i = 0; i < 200; ++i) {
    const int32_t t = s.sample(kLogits.data(), 5, k2);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(SamplerTest, TopPAndMinPDropTheTail) {
  Sampler s(3);
  // probabilities at T=1: ~[0.08, 0.39, 0.14, 0.39, 0.01]; top_p 0.5 keeps ids 1 and 3.
  SamplingParams p{.temperature = 1.0f, .top_p = 0.5f};
  SamplingParams m{.temperature = 1.0f, .min_p = 0.3f};  // keeps ids with p >= 0.3 * 0.39
  std::map<int32_t, int> seen_p, seen_m;
  for (int i = 0; i < 500; ++i) {
    ++seen_p[s.sample(kLogits.data(), 5, p)];
    ++seen_m[s.sample(kLogits.data(), 5, m)];
  }
  for (const auto& [id, n] : seen_p) EXPECT_TRUE(id == 1 || id == 3) << id;
  EXPECT_EQ(seen_m.count(0), 0u);
  EXPECT_EQ(seen_m.count(4), 0u);
  EXPECT_GT(seen_m[2], 0);
}

TEST(SamplerTest, SamplingFollowsTheDistribution) {
  Sampler s(11);
  const std::vector<float> two = {0.0f, std::log(3.0f)};  // p = 0.25, 0.75
  int ones = 0;
  for (int i = 0; i < 4000; ++i) ones += s.sample(two.data(), 2, {.temperature = 1.0f}) == 1;
  EXPECT_NEAR(ones / 4000.0, 0.75, 0.03);
}

TEST(SamplerTest, InvalidParametersNameTheField) {
  EXPECT_NE(validate({.temperature = -1.0f}).message().find("temperature"), std::string::npos);
  EXPECT_NE(validate({.top_p = 0.0f}).message().find("top_p"), std::string::npos);
  EXPECT_NE(validate({.top_k = -2}).message().find("top_k"), std::string::npos);
  EXPECT_NE(validate({.min_p = 2.0f}).message().find("min_p"), std::string::npos);
  EXPECT_TRUE(validate({}).ok());
}

}  // namespace
}  // namespace fathom::engine
