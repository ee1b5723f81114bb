// fathom prune on the qwen2 fixture: masks, the pruned checkpoints, their configs and loading.
#include "quant/prune.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/checkpoint.h"
#include "quant/eval_quality.h"
#include "quant/model_writer.h"
#include "support/temp_dir.h"

namespace fathom::quant {
namespace {

constexpr const char* kBase = "tests/data/models/qwen2";

std::vector<int32_t> tokens(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(2, 511);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = d(rng);
  return t;
}

std::vector<float> weight(const std::string& dir, const std::string& name) {
  auto ck = formats::Checkpoint::open(dir);
  EXPECT_TRUE(ck.ok());
  const formats::TensorView* t = ck->find(name);
  EXPECT_NE(t, nullptr) << name;
  return t ? *tensor_floats(*t) : std::vector<float>{};
}

QualityReport quality_vs_base(const std::string& dir) {
  auto base = model::load_model(kBase);
  auto m = model::load_model(dir);
  EXPECT_TRUE(m.ok()) << m.status().message();
  QualityOptions q;
  q.ctx = 64;
  auto r = evaluate_quality(**m, base->get(), tokens(9, 256), q);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return *r;
}

TEST(PruneMaskTest, UnstructuredDropsTheLowestScoresOfEachRow) {
  const std::vector<float> s = {4, 1, 3, 2, /* row 1 */ 0, 9, 8, 7};
  EXPECT_EQ(unstructured_mask(s, 2, 4, 0.5), (std::vector<uint8_t>{1, 0, 1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(unstructured_mask(s, 2, 4, 0.25), (std::vector<uint8_t>{1, 0, 1, 1, 0, 1, 1, 1}));
}

TEST(PruneMaskTest, TwoFourKeepsTheTwoLargestOfEveryFour) {
  const std::vector<float> s = {4, 1, 3, 2, 5, 6, 0, 1};
  EXPECT_EQ(two_four_mask(s, 1, 8), (std::vector<uint8_t>{1, 0, 1, 0, 1, 1, 0, 0}));
}

TEST(PruneModelTest, MagnitudeHalvesEveryRowAndStillLoads) {
  fathom::testing::TempDir tmp;
  PruneOptions o;
  o.sparsity = 0.5;
  auto r = prune_model(kBase, tmp.path(), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::vector<float> w =
      weight(tmp.path(), "model.layers.1.mlp.down_proj.weight");  // [64, 160]
  const std::vector<float> orig = weight(kBase, "model.layers.1.mlp.down_proj.weight");
  for (int64_t o2 = 0; o2 < 64; ++o2) {
    int zeros = 0;
    float kept_min = 1e9f, dropped_max = 0.0f;
    for (int64_t i = 0; i < 160; ++i) {
      const float v = w[o2 * 160 + i];
      if (v == 0.0f) {
        ++zeros;
        dropped_max = std::max(dropped_max, std::fabs(orig[o2 * 160 + i]));
      } else {
        EXPECT_EQ(v, orig[o2 * 160 + i]);
        kept_min = std::min(kept_min, std::fabs(v));
      }
    }
    EXPECT_EQ(zeros, 80);
    EXPECT_LE(dropped_max, kept_min);
  }
  const QualityReport q = quality_vs_base(tmp.path());
  EXPECT_GT(q.mean_kl, 0.0);
}

TEST(PruneModelTest, WandaTwoFourPatternHolds) {
  fathom::testing::TempDir tmp;
  PruneOptions o;
  o.method = PruneMethod::kWanda;
  o.two_four = true;
  o.calib_tokens = tokens(1, 512);
  o.ctx = 64;
  ASSERT_TRUE(prune_model(kBase, tmp.path(), o).ok());
  const std::vector<float> w = weight(tmp.path(), "model.layers.0.self_attn.q_proj.weight");
  for (size_t b = 0; b < w.size(); b += 4)
    EXPECT_GE((w[b] == 0) + (w[b + 1] == 0) + (w[b + 2] == 0) + (w[b + 3] == 0), 2);
  EXPECT_TRUE(model::load_model(tmp.path()).ok());
}

TEST(PruneModelTest, StructuredWritesASmallerConsistentModel) {
  fathom::testing::TempDir tmp;
  PruneOptions o;
  o.structured = true;
  o.mlp_keep = 0.75;
  o.heads_keep = 0.5;
  o.calib_tokens = tokens(1, 512);
  o.ctx = 64;
  auto r = prune_model(kBase, tmp.path(), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::ifstream in(tmp.file("config.json"));
  const nlohmann::json c = nlohmann::json::parse(in);
  EXPECT_EQ(c["intermediate_size"], 120);
  EXPECT_EQ(c["num_attention_heads"], 2);
  EXPECT_EQ(c["num_key_value_heads"], 1);
  EXPECT_EQ(c["head_dim"], 16);
  EXPECT_EQ(c["hidden_size"], 64);
  auto ck = formats::Checkpoint::open(tmp.path());
  ASSERT_TRUE(ck.ok());
  EXPECT_EQ(ck->find("model.layers.0.self_attn.q_proj.weight")->shape,
            (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(ck->find("model.layers.0.self_attn.k_proj.bias")->shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(ck->find("model.layers.0.self_attn.o_proj.weight")->shape,
            (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(ck->find("model.layers.1.mlp.down_proj.weight")->shape,
            (std::vector<int64_t>{64, 120}));
  const QualityReport q = quality_vs_base(tmp.path());
  EXPECT_GT(q.mean_kl, 0.0);
  EXPECT_LT(q.top1_agreement, 1.0);
}

TEST(PruneModelTest, StructuredKeepingEverythingChangesNothing) {
  fathom::testing::TempDir tmp;
  PruneOptions o;
  o.structured = true;
  o.mlp_keep = 1.0;
  o.heads_keep = 1.0;
  o.calib_tokens = tokens(1, 256);
  o.ctx = 64;
  ASSERT_TRUE(prune_model(kBase, tmp.path(), o).ok());
  const QualityReport q = quality_vs_base(tmp.path());
  EXPECT_EQ(q.mean_kl, 0.0);
  EXPECT_EQ(q.top1_agreement, 1.0);
}

TEST(PruneModelTest, BadInputsSayWhatIsWrong) {
  fathom::testing::TempDir tmp;
  auto message = [&](const std::string& dir, const PruneOptions& o) {
    auto r = prune_model(dir, tmp.file("out"), o);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  PruneOptions o;
  EXPECT_NE(message("tests/data/models/qwen2_awq", o).find("quantized"), std::string::npos);
  o.sparsity = 1.5;
  EXPECT_NE(message(kBase, o).find("--sparsity"), std::string::npos);
  o.sparsity = 0.5;
  o.method = PruneMethod::kWanda;
  EXPECT_NE(message(kBase, o).find("--calib"), std::string::npos);
  o.structured = true;
  o.mlp_keep = 0.0;
  EXPECT_NE(message(kBase, o).find("--mlp-keep"), std::string::npos);
  EXPECT_FALSE(parse_prune_method("sparsegpt").ok());
}

}  // namespace
}  // namespace fathom::quant
