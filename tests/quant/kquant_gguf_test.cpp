// fathom quantize --method q4_k_m|q5_k_m|q6_k|q8_0 end to end on a small qwen2 model whose rows
// divide into 256-element super-blocks (the fixtures' do not, so every k-quant would fall back):
// each GGUF loads in fathom, the mean KL divergence against the float model falls in the order
// Q8_0 < Q6_K < Q5_K_M < Q4_K_M, and an importance matrix computed over calibration-like text
// lowers Q4_K_M's KL on held-out text of the same kind.
#include "quant/kquant_gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/gguf.h"
#include "model/model.h"
#include "quant/eval_quality.h"
#include "quant/model_writer.h"
#include "support/temp_dir.h"
#include "support/zipf_tokens.h"

namespace fathom::quant {
namespace {

constexpr const char* kFixture = "tests/data/models/qwen2";  // tokenizer and config template
constexpr int64_t kCtx = 64;

using fathom::testing::zipf_tokens;

// A random qwen2 model of 4 layers, hidden 256, ffn 512, 4 heads (2 KV), untied head: linear
// weights N(0, 1/in), norm weights log-normal (the uneven channel scales of trained models,
// which is what an importance matrix is for).
Status write_wide_model(const std::string& dir) {
  FATHOM_ASSIGN_OR_RETURN(nlohmann::json config, read_config_json(kFixture));
  const int64_t h = 256, f = 512, kv = 128, vocab = 512, layers = 4;
  config["hidden_size"] = h;
  config["intermediate_size"] = f;
  config["num_hidden_layers"] = layers;
  config["max_window_layers"] = layers;
  config["tie_word_embeddings"] = false;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::lognormal_distribution<float> lognormal(0.0f, 0.6f);
  std::vector<formats::OwnedTensor> t;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, bool norm) {
    std::vector<float> v(static_cast<size_t>(shape[0] * (shape.size() > 1 ? shape[1] : 1)));
    for (float& x : v) x = norm ? lognormal(rng) : scale * normal(rng);
    t.push_back(float_tensor(name, DType::kBF16, std::move(shape), v));
  };
  add("model.embed_tokens.weight", {vocab, h}, 1.0f, false);
  add("lm_head.weight", {vocab, h}, 1.0f / 16, false);
  add("model.norm.weight", {h}, 0, true);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {h}, 0, true);
    add(p + "post_attention_layernorm.weight", {h}, 0, true);
    add(p + "self_attn.q_proj.weight", {h, h}, 1.0f / 16, false);
    add(p + "self_attn.q_proj.bias", {h}, 0.02f, false);
    add(p + "self_attn.k_proj.weight", {kv, h}, 1.0f / 16, false);
    add(p + "self_attn.k_proj.bias", {kv}, 0.02f, false);
    add(p + "self_attn.v_proj.weight", {kv, h}, 1.0f / 16, false);
    add(p + "self_attn.v_proj.bias", {kv}, 0.02f, false);
    add(p + "self_attn.o_proj.weight", {h, h}, 1.0f / 16, false);
    add(p + "mlp.gate_proj.weight", {f, h}, 1.0f / 16, false);
    add(p + "mlp.up_proj.weight", {f, h}, 1.0f / 16, false);
    add(p + "mlp.down_proj.weight", {h, f}, 1.0f / 22.6f, false);
  }
  return write_model_folder(kFixture, dir, config, std::move(t));
}

class KQuantGgufTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                      ("fathom_kquant_gguf_test_" + std::to_string(::getpid())));
    std::filesystem::create_directories(*root_);
    ASSERT_TRUE(write_wide_model(path("float")).ok());
    auto base = model::load_model(path("float"));
    ASSERT_TRUE(base.ok()) << base.status().message();
    ImatrixOptions io;
    io.tokens = zipf_tokens(1, 32 * kCtx);
    io.samples = 32;
    io.ctx = kCtx;
    io.dataset = "zipf";
    auto im = compute_imatrix(path("float"), io);
    ASSERT_TRUE(im.ok()) << im.status().message();
    imatrix_ = new Imatrix(std::move(*im));
    const std::vector<int32_t> eval = zipf_tokens(2, 16 * kCtx);
    for (KQuantMix mix :
         {KQuantMix::kQ8_0, KQuantMix::kQ6_K, KQuantMix::kQ5_K_M, KQuantMix::kQ4_K_M}) {
      for (bool with_imatrix : {false, true}) {
        if (with_imatrix && mix != KQuantMix::kQ4_K_M) continue;
        const std::string name = std::string(kquant_mix_name(mix)) + (with_imatrix ? "_imat" : "");
        KQuantOptions o;
        o.mix = mix;
        if (with_imatrix) o.imatrix = *imatrix_;
        auto s = quantize_kquant_gguf(path("float"), path(name + ".gguf"), o);
        ASSERT_TRUE(s.ok()) << name << ": " << s.status().message();
        auto m = model::load_model(path(name + ".gguf"));
        ASSERT_TRUE(m.ok()) << name << ": " << m.status().message();
        QualityOptions q;
        q.ctx = kCtx;
        auto quality = evaluate_quality(**m, base->get(), eval, q);
        ASSERT_TRUE(quality.ok()) << quality.status().message();
        (*reports_)[name] = *quality;
      }
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete root_;
    delete imatrix_;
  }
  static std::string path(const std::string& name) { return (*root_ / name).string(); }

  static std::filesystem::path* root_;
  static Imatrix* imatrix_;
  static std::map<std::string, QualityReport>* reports_;
};

std::filesystem::path* KQuantGgufTest::root_ = nullptr;
Imatrix* KQuantGgufTest::imatrix_ = nullptr;
std::map<std::string, QualityReport>* KQuantGgufTest::reports_ =
    new std::map<std::string, QualityReport>();

TEST_F(KQuantGgufTest, KlDivergenceFallsInTheExpectedOrder) {
  auto& r = *reports_;
  ASSERT_EQ(r.size(), 5u);
  for (const auto& [name, q] : r)
    std::printf("%-12s mean KL %.6f  p99 %.6f  top-1 %.1f%%\n", name.c_str(), q.mean_kl, q.p99_kl,
                100 * q.top1_agreement);
  EXPECT_GT(r["q8_0"].mean_kl, 0.0);
  EXPECT_LT(r["q8_0"].mean_kl, r["q6_k"].mean_kl);
  EXPECT_LT(r["q6_k"].mean_kl, r["q5_k_m"].mean_kl);
  EXPECT_LT(r["q5_k_m"].mean_kl, r["q4_k_m"].mean_kl);
  EXPECT_GE(r["q8_0"].top1_agreement, r["q4_k_m"].top1_agreement);
}

TEST_F(KQuantGgufTest, ImatrixLowersQ4_K_MKlOnCalibrationLikeText) {
  auto& r = *reports_;
  EXPECT_LT(r["q4_k_m_imat"].mean_kl, r["q4_k_m"].mean_kl);
}

TEST_F(KQuantGgufTest, FileHoldsTheMixAndTheImatrixItsLayers) {
  auto g = formats::GgufFile::open(path("q4_k_m.gguf"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  const formats::GgufContents& c = g->contents();
  EXPECT_EQ(c.find_tensor("output.weight")->type, GgmlType::kQ6_K);
  EXPECT_EQ(c.find_tensor("token_embd.weight")->type, GgmlType::kQ4_K);
  EXPECT_EQ(c.find_tensor("blk.3.ffn_down.weight")->type, GgmlType::kQ6_K);
  EXPECT_EQ(c.find_tensor("blk.0.ffn_down.weight")->type, GgmlType::kQ4_K);
  EXPECT_EQ(c.find_tensor("blk.0.attn_q.weight")->type, GgmlType::kQ4_K);
  EXPECT_NE(c.find("tokenizer.ggml.tokens"), nullptr) << "the file alone can be served";
  // 4 layers x 7 linear weights, each with one mean per input column.
  ASSERT_EQ(imatrix_->entries.size(), 28u);
  EXPECT_EQ(imatrix_->entries.at("blk.2.ffn_down.weight").values.size(), 512u);
  EXPECT_EQ(imatrix_->entries.at("blk.2.attn_v.weight").values,
            imatrix_->entries.at("blk.2.attn_q.weight").values);
  EXPECT_EQ(imatrix_->entries.at("blk.2.attn_v.weight").ncall, 32);
}

TEST_F(KQuantGgufTest, MismatchedImatrixIsAnError) {
  KQuantOptions o;
  o.imatrix = *imatrix_;
  o.imatrix->entries.at("blk.1.ffn_down.weight").values.resize(100);
  auto s = quantize_kquant_gguf(path("float"), path("bad.gguf"), o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("imatrix entry blk.1.ffn_down.weight: has 100 values"),
            std::string::npos)
      << s.status().message();
  Imatrix other;
  other.entries["blk.0.unknown.weight"] = {1, {1.0f}};
  o.imatrix = other;
  s = quantize_kquant_gguf(path("float"), path("bad.gguf"), o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--imatrix: none of its 1 entries"), std::string::npos);
  ImatrixOptions io;
  io.tokens = zipf_tokens(1, 10);
  io.ctx = kCtx;
  EXPECT_NE(compute_imatrix(path("float"), io).status().message().find("do not fill one window"),
            std::string::npos);
}

}  // namespace
}  // namespace fathom::quant
