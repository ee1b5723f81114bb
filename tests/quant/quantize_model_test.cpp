// fathom quantize end to end on the qwen2 fixture: every method's output loads in fathom, keeps
// the checkpoint layouts, and its KL divergence from the float model falls in the expected
// order (int8 < GPTQ, AWQ < round-to-nearest 4-bit at the same group size).
#include "quant/quantize_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/checkpoint.h"
#include "quant/eval_quality.h"
#include "support/temp_dir.h"
#include "support/zipf_tokens.h"

namespace fathom::quant {
namespace {

constexpr const char* kBase = "tests/data/models/qwen2";
constexpr int64_t kCtx = 64;

using fathom::testing::zipf_tokens;

struct Variant {
  std::string name;
  QuantizeMethod method;
  bool act_order = false;
};

class QuantizeModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                      ("fathom_quantize_model_test_" + std::to_string(::getpid())));
    std::filesystem::create_directories(*root_);
    auto base = model::load_model(kBase);
    ASSERT_TRUE(base.ok()) << base.status().message();
    const std::vector<int32_t> eval = zipf_tokens(2, 16 * kCtx);
    for (const Variant& v :
         {Variant{"int8", QuantizeMethod::kInt8}, Variant{"rtn", QuantizeMethod::kRtn},
          Variant{"gptq", QuantizeMethod::kGptq}, Variant{"gptq_act", QuantizeMethod::kGptq, true},
          Variant{"awq", QuantizeMethod::kAwq}}) {
      QuantizeOptions o;
      o.method = v.method;
      o.params.group_size = 32;
      o.params.act_order = v.act_order;
      o.calib_tokens = zipf_tokens(1, 64 * kCtx);
      o.samples = 64;
      o.ctx = kCtx;
      auto r = quantize_model(kBase, dir(v.name), o);
      ASSERT_TRUE(r.ok()) << v.name << ": " << r.status().message();
      auto m = model::load_model(dir(v.name));
      ASSERT_TRUE(m.ok()) << v.name << ": " << m.status().message();
      QualityOptions q;
      q.ctx = kCtx;
      auto quality = evaluate_quality(**m, base->get(), eval, q);
      ASSERT_TRUE(quality.ok()) << quality.status().message();
      (*reports_)[v.name] = *quality;
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete root_;
  }

  static std::string dir(const std::string& name) { return (*root_ / name).string(); }

  static nlohmann::json config(const std::string& name) {
    std::ifstream in(dir(name) + "/config.json");
    return nlohmann::json::parse(in);
  }

  static std::filesystem::path* root_;
  static std::map<std::string, QualityReport>* reports_;
};

std::filesystem::path* QuantizeModelTest::root_ = nullptr;
std::map<std::string, QualityReport>* QuantizeModelTest::reports_ =
    new std::map<std::string, QualityReport>();

TEST_F(QuantizeModelTest, KlDivergenceFallsInTheExpectedOrder) {
  auto& r = *reports_;
  ASSERT_EQ(r.size(), 5u);
  for (const auto& [name, q] : r)
    std::printf("%-9s mean KL %.6f  p99 %.6f  top-1 %.1f%%  ppl %.2f (base %.2f)\n", name.c_str(),
                q.mean_kl, q.p99_kl, 100 * q.top1_agreement, q.perplexity, q.base_perplexity);
  EXPECT_GT(r["int8"].mean_kl, 0.0);
  EXPECT_LT(r["int8"].mean_kl, r["gptq"].mean_kl);
  EXPECT_LT(r["int8"].mean_kl, r["awq"].mean_kl);
  EXPECT_LT(r["gptq"].mean_kl, r["rtn"].mean_kl);
  EXPECT_LT(r["gptq_act"].mean_kl, r["rtn"].mean_kl);
  EXPECT_LT(r["awq"].mean_kl, r["rtn"].mean_kl);
  EXPECT_GT(r["int8"].top1_agreement, r["rtn"].top1_agreement);
}

TEST_F(QuantizeModelTest, OutputsKeepTheCheckpointLayouts) {
  auto ck = formats::Checkpoint::open(dir("gptq_act"));
  ASSERT_TRUE(ck.ok());
  const std::string p = "model.layers.1.mlp.down_proj";  // [64, 160]
  ASSERT_NE(ck->find(p + ".qweight"), nullptr);
  EXPECT_EQ(ck->find(p + ".weight"), nullptr);
  EXPECT_EQ(ck->find(p + ".qweight")->shape, (std::vector<int64_t>{20, 64}));
  EXPECT_EQ(ck->find(p + ".qzeros")->shape, (std::vector<int64_t>{5, 8}));
  EXPECT_EQ(ck->find(p + ".scales")->dtype, DType::kF16);
  const formats::TensorView* g = ck->find(p + ".g_idx");
  ASSERT_NE(g, nullptr);
  std::vector<int32_t> per_group(5, 0);
  for (int64_t i = 0; i < 160; ++i) ++per_group.at(static_cast<size_t>(g->as<int32_t>()[i]));
  EXPECT_EQ(per_group, std::vector<int32_t>(5, 32));
  EXPECT_EQ(config("gptq_act")["quantization_config"]["desc_act"], true);
  EXPECT_EQ(config("gptq")["quantization_config"]["quant_method"], "gptq");
  EXPECT_EQ(config("gptq")["quantization_config"]["group_size"], 32);
  EXPECT_EQ(config("awq")["quantization_config"]["quant_method"], "awq");
  EXPECT_EQ(config("awq")["quantization_config"]["version"], "gemm");
  EXPECT_EQ(config("int8")["quantization_config"]["format"], "pack-quantized");

  auto awq = formats::Checkpoint::open(dir("awq"));
  ASSERT_TRUE(awq.ok());
  EXPECT_EQ(awq->find(p + ".qweight")->shape, (std::vector<int64_t>{160, 8}));
  EXPECT_EQ(awq->find(p + ".g_idx"), nullptr);
  auto i8 = formats::Checkpoint::open(dir("int8"));
  ASSERT_TRUE(i8.ok());
  EXPECT_EQ(i8->find(p + ".weight_packed")->shape, (std::vector<int64_t>{64, 40}));

  // Everything that is not a quantized linear is copied as stored, except AWQ's folded norms.
  auto base = formats::Checkpoint::open(kBase);
  ASSERT_TRUE(base.ok());
  for (const char* name :
       {"model.embed_tokens.weight", "model.norm.weight", "model.layers.0.self_attn.q_proj.bias"}) {
    const formats::TensorView* a = base->find(name);
    const formats::TensorView* b = ck->find(name);
    ASSERT_NE(b, nullptr) << name;
    ASSERT_EQ(a->size_bytes, b->size_bytes);
    EXPECT_EQ(std::memcmp(a->data, b->data, static_cast<size_t>(a->size_bytes)), 0) << name;
  }
  const formats::TensorView* norm = awq->find("model.layers.0.input_layernorm.weight");
  const formats::TensorView* base_norm = base->find("model.layers.0.input_layernorm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->dtype, base_norm->dtype);
  EXPECT_NE(std::memcmp(norm->data, base_norm->data, static_cast<size_t>(norm->size_bytes)), 0)
      << "AWQ scales are folded into the norm";
  EXPECT_TRUE(std::filesystem::exists(dir("gptq") + "/tokenizer.json"));
}

TEST(QuantizeModelErrorsTest, BadInputsSayWhatIsWrong) {
  fathom::testing::TempDir tmp;
  QuantizeOptions o;
  o.params.group_size = 32;
  o.ctx = kCtx;
  auto message = [&](const std::string& model_dir) {
    auto r = quantize_model(model_dir, tmp.file("out"), o);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(message("tests/data/models/qwen2_gptq").find("already quantized"), std::string::npos);
  EXPECT_NE(message(kBase).find("--calib: required"), std::string::npos);
  o.calib_tokens = zipf_tokens(1, 10);
  EXPECT_NE(message(kBase).find("do not fill one window"), std::string::npos);
  o.calib_tokens = zipf_tokens(1, 1024);
  o.ctx = 512;  // the fixture has 256 positions
  EXPECT_NE(message(kBase).find("--ctx: 512 exceeds"), std::string::npos);
  o.ctx = kCtx;
  o.method = QuantizeMethod::kRtn;
  o.params.group_size = 48;
  EXPECT_NE(message(kBase).find("does not divide in_features"), std::string::npos);
  o.params.group_size = 32;
  o.params.act_order = true;
  EXPECT_NE(message(kBase).find("--act-order"), std::string::npos);
  EXPECT_NE(message(tmp.file("missing")).find("config.json"), std::string::npos);
  EXPECT_FALSE(parse_quantize_method("k-quants").ok());
  EXPECT_EQ(*parse_quantize_method("awq"), QuantizeMethod::kAwq);
}

}  // namespace
}  // namespace fathom::quant
