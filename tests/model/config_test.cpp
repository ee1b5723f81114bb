#include "model/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/rope.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::model {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::max_abs_diff;
using fathom::testing::read_bytes;
using fathom::testing::Reference;
using fathom::testing::TempDir;

nlohmann::json fixture_config(const std::string& name) {
  return nlohmann::json::parse(read_bytes(fixture_dir(name) + "/config.json"));
}

TEST(ConfigTest, LegacyRopeKeysAndRopeParametersParseTheSame) {
  nlohmann::json legacy = fixture_config("deepseek_v3");
  nlohmann::json modern = legacy;
  nlohmann::json params = modern["rope_scaling"];
  params["rope_type"] = params["type"];
  params.erase("type");
  params["rope_theta"] = modern["rope_theta"];
  modern.erase("rope_scaling");
  modern.erase("rope_theta");
  modern["rope_parameters"] = params;
  auto a = parse_model_config(legacy, "legacy");
  auto b = parse_model_config(modern, "modern");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().to_string() << b.status().to_string();
  EXPECT_EQ(a->rope.type, RopeType::kYarn);
  EXPECT_EQ(b->rope.type, RopeType::kYarn);
  EXPECT_EQ(a->rope.theta, b->rope.theta);
  EXPECT_EQ(a->rope.factor, b->rope.factor);
  EXPECT_EQ(a->rope.original_max_position_embeddings, b->rope.original_max_position_embeddings);
}

TEST(ConfigTest, ModelLoadedFromRopeParametersMatchesTheReference) {
  TempDir dir;
  nlohmann::json cfg = fixture_config("deepseek_v2");
  nlohmann::json params = cfg["rope_scaling"];
  params["rope_type"] = "yarn";
  params.erase("type");
  params["rope_theta"] = cfg["rope_theta"];
  cfg.erase("rope_scaling");
  cfg.erase("rope_theta");
  cfg["rope_parameters"] = params;
  std::ofstream(dir.file("config.json")) << cfg.dump();
  std::filesystem::copy_file(fixture_dir("deepseek_v2") + "/model.safetensors", dir.file("model.safetensors"));
  auto m = load_model(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  Reference ref("deepseek_v2");
  const auto ids = ref.ids("p3.input_ids");  // 150 tokens: beyond YaRN's original 64
  const auto want = ref.floats("p3.logits");
  auto kv = runtime::KvStorage::allocate((*m)->kv_layout(), 10, 16);
  ASSERT_TRUE(kv.ok());
  ForwardBatch b;
  b.token_ids = ids;
  b.block_tables = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (int32_t i = 0; i < static_cast<int32_t>(ids.size()); ++i) {
    b.positions.push_back(i);
    b.seq_idx.push_back(0);
    b.output_rows.push_back(i);
  }
  std::vector<float> got;
  ASSERT_TRUE((*m)->forward(b, *kv, got).ok());
  EXPECT_LT(max_abs_diff(got.data(), want.data(), want.size()), 1e-3f);
}

TEST(RopeTest, YarnKeepsHighFrequenciesAndInterpolatesLowOnes) {
  RopeConfig r;
  r.type = RopeType::kYarn;
  r.theta = 10000.0;
  r.factor = 4.0;
  r.original_max_position_embeddings = 64;
  r.mscale = 0.707;
  r.mscale_all_dim = 0.707;
  const auto t = make_rope_table(r, 64, 256, kernels::RopeStyle::kInterleaved);
  ASSERT_EQ(t.inv_freq.size(), 32u);
  EXPECT_FLOAT_EQ(t.inv_freq[0], 1.0f);                                      // extrapolated
  const double low = std::pow(10000.0, -62.0 / 64) / 4.0;
  EXPECT_NEAR(t.inv_freq[31], low, low * 1e-6);  // interpolated
  EXPECT_FLOAT_EQ(t.attention_factor, 1.0f);  // mscale == mscale_all_dim
  EXPECT_NEAR(yarn_get_mscale(4.0, 0.707), 0.1 * 0.707 * std::log(4.0) + 1.0, 1e-12);
}

TEST(RopeTest, Llama3ScalesOnlyLongWavelengths) {
  RopeConfig r;
  r.type = RopeType::kLlama3;
  r.theta = 500000.0;
  r.factor = 8.0;
  r.low_freq_factor = 1.0;
  r.high_freq_factor = 4.0;
  r.original_max_position_embeddings = 8192;
  const auto t = make_rope_table(r, 128, 131072, kernels::RopeStyle::kNeox);
  EXPECT_FLOAT_EQ(t.inv_freq[0], 1.0f);  // short wavelength: unchanged
  const double low = std::pow(500000.0, -126.0 / 128) / 8.0;
  EXPECT_NEAR(t.inv_freq[63], low, low * 1e-6);
}

TEST(ConfigTest, UnsupportedRopeTypeAndMoeFieldsAreNamed) {
  nlohmann::json j = fixture_config("deepseek_v3");
  j["rope_scaling"]["type"] = "longrope";
  j["topk_method"] = "random";
  j["topk_group"] = 9;
  auto c = parse_model_config(j, "cfg.json");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("rope_scaling.rope_type 'longrope' is not supported"), std::string::npos) << m;
  EXPECT_NE(m.find("topk_method 'random' is not supported"), std::string::npos) << m;
  EXPECT_NE(m.find("topk_group must be <= n_group"), std::string::npos) << m;
}

}  // namespace
}  // namespace fathom::model
