// Perplexity / KL divergence / top-1 agreement: hand-computed positions and whole models.
#include "quant/eval_quality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/window_forward.h"

namespace fathom::quant {
namespace {

TEST(CompareTokenTest, HandComputedTwoTokenVocabulary) {
  const float model[2] = {0.0f, 0.0f};           // p = (1/2, 1/2)
  const float base[2] = {std::log(3.0f), 0.0f};  // p = (3/4, 1/4)
  const TokenComparison c = compare_token(model, base, 2, 1);
  EXPECT_NEAR(c.nll, std::log(2.0), 1e-9);
  EXPECT_NEAR(c.base_nll, std::log(4.0), 1e-6);
  EXPECT_NEAR(c.kl, 0.75 * std::log(1.5) + 0.25 * std::log(0.5), 1e-6);
  EXPECT_TRUE(c.same_top);  // a tie goes to the first token, which base ranks first too
  const float flipped[2] = {0.0f, 1.0f};
  EXPECT_FALSE(compare_token(flipped, base, 2, 1).same_top);
}

TEST(CompareTokenTest, IdenticalRowsHaveNoDivergence) {
  std::vector<float> row(100);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (float& v : row) v = 3.0f * nd(rng);
  const TokenComparison c = compare_token(row.data(), row.data(), 100, 17);
  EXPECT_EQ(c.kl, 0.0);
  EXPECT_TRUE(c.same_top);
  EXPECT_EQ(c.nll, c.base_nll);
}

TEST(SplitWindowsTest, DropsTheTailAndHonoursTheLimit) {
  std::vector<int32_t> t(10);
  EXPECT_EQ(split_windows(t, 4, 0).size(), 2u);
  EXPECT_EQ(split_windows(t, 4, 1).size(), 1u);
  EXPECT_EQ(split_windows(t, 11, 0).size(), 0u);
  EXPECT_EQ(split_windows(t, 0, 0).size(), 0u);
}

std::vector<int32_t> random_tokens(uint32_t seed, size_t n, int32_t vocab) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(2, vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = d(rng);
  return t;
}

TEST(EvaluateQualityTest, AModelAgainstItselfAgreesCompletely) {
  auto m = model::load_model("tests/data/models/qwen2");
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto tokens = random_tokens(4, 200, 512);
  QualityOptions o;
  o.ctx = 64;
  auto r = evaluate_quality(**m, m->get(), tokens, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->windows, 3);
  EXPECT_EQ(r->scored_tokens, 3 * 31);
  EXPECT_EQ(r->mean_kl, 0.0);
  EXPECT_EQ(r->p99_kl, 0.0);
  EXPECT_EQ(r->top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(r->perplexity, r->base_perplexity);
  // A random-weight model over random tokens: perplexity near the vocabulary size.
  EXPECT_GT(r->perplexity, 100.0);
  EXPECT_LT(r->perplexity, 5000.0);
}

TEST(EvaluateQualityTest, BadInputsNameTheOption) {
  auto m = model::load_model("tests/data/models/qwen2");
  ASSERT_TRUE(m.ok());
  QualityOptions o;
  o.ctx = 64;
  auto few = evaluate_quality(**m, nullptr, random_tokens(1, 10, 512), o);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("--text"), std::string::npos);
  std::vector<int32_t> bad = random_tokens(1, 100, 512);
  bad[7] = 512;
  auto oov = evaluate_quality(**m, nullptr, bad, o);
  ASSERT_FALSE(oov.ok());
  EXPECT_NE(oov.status().message().find("vocabulary"), std::string::npos);
  o.ctx = 100000;
  auto long_ctx = evaluate_quality(**m, nullptr, random_tokens(1, 100, 512), o);
  ASSERT_FALSE(long_ctx.ok());
  EXPECT_NE(long_ctx.status().message().find("--ctx"), std::string::npos);
}

}  // namespace
}  // namespace fathom::quant
