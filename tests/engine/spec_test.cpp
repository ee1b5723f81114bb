// Speculative decoding pieces without a model: n-gram lookup, the verification rule (exact for
// greedy; for sampling the emitted token keeps the target distribution, and a wrong rule is
// detected by the same statistic), the counters and the KV rollback.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "engine/spec/ngram.h"
#include "engine/spec/spec_config.h"
#include "engine/spec/spec_stats.h"
#include "engine/spec/verify.h"
#include "kv/kv_cache_manager.h"

namespace fathom::engine::spec {
namespace {

TEST(NgramTest, ProposesWhatFollowedTheLatestMatchOfTheLongestSuffix) {
  //                                0  1  2  3  4  5  6  7  8  9
  const std::vector<int32_t> h = {5, 6, 7, 8, 9, 1, 6, 7, 2, 6, 7};
  // "6 7" occurs at 1 and 6 (latest first): after 6 is 2, 6, 7.
  EXPECT_EQ(propose_ngram(h, 2, 4, 3), (std::vector<int32_t>{2, 6, 7}));
  // Only what exists after the match.
  EXPECT_EQ(propose_ngram(h, 2, 4, 10), (std::vector<int32_t>{2, 6, 7}));
  // A longer suffix wins: "1 6 7" -> no; "9 1 6 7" no; so n=3 "2 6 7" has no earlier match.
  const std::vector<int32_t> g = {1, 2, 3, 4, 9, 2, 3, 4, 7, 1, 2, 3, 4};
  // n=4 "1 2 3 4" matches at 0 -> 9; n=3 would have matched at 5 -> 7.
  EXPECT_EQ(propose_ngram(g, 2, 4, 1), (std::vector<int32_t>{9}));
  EXPECT_EQ(propose_ngram(g, 2, 3, 1), (std::vector<int32_t>{7}));
}

TEST(NgramTest, NothingWithoutARepeatOrWithKZero) {
  EXPECT_TRUE(propose_ngram(std::vector<int32_t>{1, 2, 3, 4}, 1, 3, 4).empty());
  EXPECT_TRUE(propose_ngram(std::vector<int32_t>{1, 2, 1, 2}, 1, 3, 0).empty());
  EXPECT_TRUE(propose_ngram(std::vector<int32_t>{}, 1, 3, 2).empty());
  EXPECT_TRUE(propose_ngram(std::vector<int32_t>{7}, 1, 3, 2).empty());
  // min_n limits: a single repeated token is not enough for min_n = 2.
  EXPECT_TRUE(propose_ngram(std::vector<int32_t>{3, 1, 2, 3}, 2, 3, 2).empty());
  EXPECT_EQ(propose_ngram(std::vector<int32_t>{3, 1, 2, 3}, 1, 3, 2), (std::vector<int32_t>{1, 2}));
}

TEST(SpecConfigTest, ParsesMethodsAndNamesBadFlags) {
  EXPECT_EQ(*parse_spec_method("ngram"), SpecMethod::kNgram);
  EXPECT_EQ(*parse_spec_method("mtp"), SpecMethod::kMtp);
  EXPECT_EQ(*parse_spec_method("off"), SpecMethod::kOff);
  EXPECT_NE(parse_spec_method("eagle").status().message().find("--speculative"), std::string::npos);
  SpecConfig c{.method = SpecMethod::kNgram, .num_speculative_tokens = 0};
  EXPECT_NE(validate(c).message().find("--num-speculative-tokens"), std::string::npos);
  c.num_speculative_tokens = 2;
  c.prompt_lookup_min = 3;
  c.prompt_lookup_max = 2;
  EXPECT_NE(validate(c).message().find("--prompt-lookup-min"), std::string::npos);
}

const std::vector<float> kLogits = {1.0f, 2.5f, 0.2f, 2.0f, -1.0f, 1.7f};

TEST(VerifyTest, GreedyAcceptsExactlyTheArgmax) {
  Sampler s(1);
  const SamplingParams greedy{};
  EXPECT_EQ(verify_draft(kLogits.data(), 6, greedy, 1, nullptr, s).accepted, true);
  const DraftVerdict v = verify_draft(kLogits.data(), 6, greedy, 3, nullptr, s);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.token, 1);
}

// The emitted token's empirical distribution over many seeded verifications.
using Rule = std::function<int32_t(Sampler&)>;
std::vector<double> empirical(const Rule& rule, int n, size_t vocab) {
  std::vector<double> freq(vocab, 0.0);
  for (int i = 0; i < n; ++i) {
    Sampler s(static_cast<uint64_t>(i) * 7919 + 1);
    freq[static_cast<size_t>(rule(s))] += 1.0 / n;
  }
  return freq;
}

double total_variation(const std::vector<double>& a, const std::vector<double>& b) {
  double tv = 0.0;
  for (size_t i = 0; i < a.size(); ++i) tv += std::abs(a[i] - b[i]);
  return tv / 2;
}

std::vector<double> target_probs(const SamplingParams& p) {
  const TokenDistribution d = sampling_distribution(kLogits.data(), 6, p);
  std::vector<double> out(6, 0.0);
  for (size_t i = 0; i < d.ids.size(); ++i) out[static_cast<size_t>(d.ids[i])] = d.probs[i];
  return out;
}

// With 20000 draws the TV distance of a correct rule stays under ~0.02; a rule that is wrong
// by a few percent of mass lands far above 0.03.
constexpr int kDraws = 20000;
constexpr double kMaxTv = 0.03;

TEST(VerifyTest, PointMassDraftKeepsTheTargetDistribution) {
  const SamplingParams p{.temperature = 0.8f, .top_k = 5};
  const std::vector<double> want = target_probs(p);
  for (int32_t draft : {1, 3, 2, 4 /* outside the top 5: never accepted */}) {
    const auto got = empirical(
        [&](Sampler& s) { return verify_draft(kLogits.data(), 6, p, draft, nullptr, s).token; },
        kDraws, 6);
    EXPECT_LT(total_variation(got, want), kMaxTv) << "draft " << draft;
  }
}

TEST(VerifyTest, DraftDistributionQKeepsTheTargetDistribution) {
  const SamplingParams p{.temperature = 1.0f};
  const std::vector<double> want = target_probs(p);
  // A drafter that samples from its own, different distribution q.
  TokenDistribution q;
  q.ids = {0, 1, 2, 3, 4, 5};
  q.probs = {0.05, 0.1, 0.4, 0.05, 0.3, 0.1};
  const auto got = empirical(
      [&](Sampler& s) {
        const int32_t x = s.sample(q);
        return verify_draft(kLogits.data(), 6, p, x, &q, s).token;
      },
      kDraws, 6);
  EXPECT_LT(total_variation(got, want), kMaxTv);
}

TEST(VerifyTest, TheStatisticCatchesABrokenRule) {
  // The same measurement applied to wrong rules must fail, or the tests above prove nothing:
  // (a) resampling from p (not from p without the draft) after a rejection;
  // (b) accepting the draft whenever p(x) > 0.2, ignoring p(x) as a probability.
  const SamplingParams p{.temperature = 0.8f, .top_k = 5};
  const std::vector<double> want = target_probs(p);
  const int32_t draft = 3;
  const auto resample_from_p = empirical(
      [&](Sampler& s) {
        const TokenDistribution d = sampling_distribution(kLogits.data(), 6, p);
        return s.uniform() < d.prob(draft) ? draft : s.sample(d);
      },
      kDraws, 6);
  EXPECT_GT(total_variation(resample_from_p, want), kMaxTv);
  const auto threshold_accept = empirical(
      [&](Sampler& s) {
        const TokenDistribution d = sampling_distribution(kLogits.data(), 6, p);
        if (d.prob(draft) > 0.2) return draft;
        return verify_draft(kLogits.data(), 6, p, draft, nullptr, s).token;
      },
      kDraws, 6);
  EXPECT_GT(total_variation(threshold_accept, want), kMaxTv);
}

TEST(SpecStatsTest, CountsPerPositionAndAdds) {
  SpecStats a;
  a.record(3, 2);
  a.record(2, 0);
  SpecStats b;
  b.record(4, 4);
  a.add(b);
  EXPECT_EQ(a.num_drafts, 3);
  EXPECT_EQ(a.num_draft_tokens, 9);
  EXPECT_EQ(a.num_accepted_tokens, 6);
  EXPECT_EQ(a.accepted_per_pos, (std::vector<int64_t>{2, 2, 1, 1}));
}

TEST(KvTruncateTest, GivesBackOnlyTheTailBlocks) {
  kv::KvCacheManager kv(8, 4, /*enable_prefix_caching=*/true);
  kv::SequenceBlocks seq;
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(kv.grow(seq, 14));  // 4 blocks: 6 tokens plus 8 draft slots
  kv.commit(seq, tokens, 5);      // block 0 full and committed
  kv.truncate(seq, 7);            // 7 tokens need 2 blocks
  EXPECT_EQ(seq.table.size(), 2u);
  EXPECT_EQ(kv.num_free(), 6);
  kv.release(seq);
  EXPECT_EQ(kv.num_free(), 8);
}

}  // namespace
}  // namespace fathom::engine::spec
