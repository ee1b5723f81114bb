// GGUF models end to end: each fixture model written as GGUF by our writer (gguf_export) in every
// supported weight type, loaded through load_model, and its logits checked
//   - F32: against the same model loaded from safetensors (1e-5) and the Hugging Face reference
//     (1e-3, the parity tests' tolerance);
//   - each type: against the model whose weights are those blocks dequantized to F32 (tight: the
//     kernels must compute exactly what the format defines), and against the reference within a
//     tolerance that follows the type's precision.
// The fixtures' rows (64, 160, 24 columns) make k-quants fall back as llama.cpp's quantizer does,
// so a wider random Llama (256 and 512 columns) carries the k-quants themselves.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "formats/safetensors.h"
#include "kernels/ggml_blocks.h"
#include "model/gguf_export.h"
#include "model/gguf_loader.h"
#include "model/model.h"
#include "support/all_logits.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::model {
namespace {

using fathom::testing::all_logits;
using fathom::testing::fixture_dir;
using fathom::testing::max_abs_diff;
using fathom::testing::Reference;
using fathom::testing::TempDir;

std::unique_ptr<Model> load(const std::string& path, bool reference_kernels = false) {
  auto m = load_model(path, LoadOptions{.reference_kernels = reference_kernels});
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? std::move(*m) : nullptr;
}

std::string export_as(const std::string& dir, const TempDir& tmp, GgmlType t) {
  const std::string path = tmp.file(std::string(ggml_type_name(t)) + ".gguf");
  auto s = export_gguf(dir, path, GgufExportOptions{.type = t});
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return path;
}

// The same GGUF with every tensor's blocks dequantized to F32 (metadata unchanged).
std::string dequantized_copy(const std::string& path) {
  auto f = formats::GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  std::vector<formats::GgufTensorData> out;
  for (const formats::GgufTensor& t : f->contents().tensors) {
    formats::GgufTensorData d{t.name, GgmlType::kF32, t.dims, {}};
    d.bytes.resize(static_cast<size_t>(t.numel()) * 4);
    kernels::ggml_dequantize(t.type, t.data, t.numel(), reinterpret_cast<float*>(d.bytes.data()));
    out.push_back(std::move(d));
  }
  const std::string dq = path + ".dequantized.gguf";
  EXPECT_TRUE(formats::write_gguf(dq, f->contents().metadata, out).ok());
  return dq;
}

// Relative RMS logit error allowed against the reference, by the weight type actually written
// (the fixtures' 64-column rows make k-quants fall back). Measured on the dense fixtures: F16 and
// BF16 0 (the fixture weights are bf16), Q8_0 0.028, 5-bit 0.20, 4-bit 0.38; MoE fixtures are
// several times worse at every width because small weight changes flip expert choices (Q8_0
// 0.25), so their bounds are 4x. The wide model's test checks the order of the types strictly.
float type_tolerance(GgmlType t, bool moe) {
  float tol = 0.0f;
  switch (t) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
      tol = 1e-4f;
      break;
    case GgmlType::kQ8_0:
    case GgmlType::kQ6_K:
      tol = 0.07f;
      break;
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ5_K:
      tol = 0.3f;
      break;
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ4_K:
    case GgmlType::kIQ4_NL:
    case GgmlType::kIQ4_XS:
      tol = 0.6f;
      break;
    case GgmlType::kQ3_K:
    case GgmlType::kQ2_K:
      tol = 1.2f;
      break;
  }
  return moe ? 4 * tol : tol;
}

// RMS of (got - want) over the RMS of want.
float relative_rms_error(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num += double(got[i] - want[i]) * (got[i] - want[i]);
    den += double(want[i]) * want[i];
  }
  return static_cast<float>(std::sqrt(num / std::max(den, 1e-30)));
}

class GgufFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufFixtureTest, F32MatchesTheSafetensorsModelAndTheReference) {
  TempDir tmp;
  const std::string path = export_as(fixture_dir(GetParam()), tmp, GgmlType::kF32);
  auto gguf = load(path);
  auto hf = load(fixture_dir(GetParam()));
  ASSERT_TRUE(gguf && hf);
  EXPECT_EQ(gguf->config().architecture, hf->config().architecture);
  Reference ref(GetParam());
  for (int p = 0; p < 4; ++p) {
    const std::string key = "p" + std::to_string(p);
    const auto ids = ref.ids(key + ".input_ids");
    const auto want = ref.floats(key + ".logits");
    const auto got = all_logits(*gguf, ids);
    const auto same = all_logits(*hf, ids);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(max_abs_diff(got.data(), same.data(), got.size()), 1e-5f) << key;
    EXPECT_LT(max_abs_diff(got.data(), want.data(), got.size()), 1e-3f) << key;
  }
}

TEST_P(GgufFixtureTest, EveryTypeComputesItsDequantizedWeightsAndStaysNearTheReference) {
  TempDir tmp;
  Reference ref(GetParam());
  const auto ids = ref.ids("p2.input_ids");
  const auto want = ref.floats("p2.logits");
  for (GgmlType t : kGgmlTypes) {
    SCOPED_TRACE(ggml_type_name(t));
    const std::string path = export_as(fixture_dir(GetParam()), tmp, t);
    auto quantized = load(path);
    auto dequantized = load(dequantized_copy(path));
    auto oracle = load(path, /*reference_kernels=*/true);
    ASSERT_TRUE(quantized && dequantized && oracle);
    const auto got = all_logits(*quantized, ids);
    const auto exact = all_logits(*dequantized, ids);
    const auto slow = all_logits(*oracle, ids);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(max_abs_diff(got.data(), exact.data(), got.size()), 1e-4f);
    EXPECT_LT(max_abs_diff(got.data(), slow.data(), got.size()), 1e-4f);
    const float err = relative_rms_error(got, want);
    std::printf("%s %-7s relative rms logit error %.5f\n", GetParam().c_str(), ggml_type_name(t),
                err);
    EXPECT_LT(err, type_tolerance(ggml_fallback_type(t, 64),
                                  quantized->config().moe.num_routed_experts > 0));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufFixtureTest,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v2_grouped",
                                           "deepseek_v3"),
                         [](const auto& param_info) { return param_info.param; });

// A random Llama whose rows are multiples of 256, so every k-quant is used as itself.
std::string write_wide_llama(const TempDir& tmp, const std::string& rope_scaling = "null") {
  const std::string dir = tmp.file("wide");
  std::filesystem::create_directories(dir);
  fathom::testing::write_text(dir + "/config.json", R"({"rope_scaling": )" + rope_scaling + R"(,
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 256,
    "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
    "max_position_embeddings": 128, "rope_theta": 10000.0, "bos_token_id": 0,
    "eos_token_id": 1, "tie_word_embeddings": false, "hidden_act": "silu"})");
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.06f);
  std::vector<formats::OwnedTensor> ts;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool ones = false) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = ones ? 1.0f + normal(rng) : normal(rng);
    ts.push_back(formats::make_f32_tensor(name, std::move(shape), v));
  };
  add("model.embed_tokens.weight", {256, 256});
  add("lm_head.weight", {256, 256});
  add("model.norm.weight", {256}, true);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {256}, true);
    add(p + "post_attention_layernorm.weight", {256}, true);
    add(p + "self_attn.q_proj.weight", {256, 256});
    add(p + "self_attn.k_proj.weight", {128, 256});
    add(p + "self_attn.v_proj.weight", {128, 256});
    add(p + "self_attn.o_proj.weight", {256, 256});
    add(p + "mlp.gate_proj.weight", {512, 256});
    add(p + "mlp.up_proj.weight", {512, 256});
    add(p + "mlp.down_proj.weight", {256, 512});
  }
  EXPECT_TRUE(formats::write_safetensors(dir + "/model.safetensors", ts).ok());
  return dir;
}

TEST(GgufWideModelTest, KQuantsComputeTheirBlocksAndErrorsFollowTheirBits) {
  TempDir tmp;
  const std::string dir = write_wide_llama(tmp);
  auto base = load(dir);
  ASSERT_TRUE(base);
  std::vector<int32_t> ids;
  for (int i = 0; i < 24; ++i) ids.push_back((i * 37 + 5) % 256);
  const auto want = all_logits(*base, ids);
  std::map<GgmlType, float> err;
  for (GgmlType t : kGgmlTypes) {
    SCOPED_TRACE(ggml_type_name(t));
    const std::string path = tmp.file(std::string(ggml_type_name(t)) + ".gguf");
    auto summary = export_gguf(dir, path, GgufExportOptions{.type = t});
    ASSERT_TRUE(summary.ok()) << summary.status().to_string();
    const int matrices = 2 + 7 * 2, vectors = 1 + 2 * 2;  // norms stay F32
    EXPECT_EQ((*summary)[t], t == GgmlType::kF32 ? matrices + vectors : matrices)
        << "every matrix is written as the type itself";
    auto quantized = load(path);
    auto dequantized = load(dequantized_copy(path));
    ASSERT_TRUE(quantized && dequantized);
    const auto got = all_logits(*quantized, ids);
    const auto exact = all_logits(*dequantized, ids);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(max_abs_diff(got.data(), exact.data(), got.size()), 1e-4f);
    double sq = 0;  // RMS error against the float model
    for (size_t i = 0; i < got.size(); ++i) sq += double(got[i] - want[i]) * (got[i] - want[i]);
    err[t] = static_cast<float>(std::sqrt(sq / static_cast<double>(got.size())));
  }
  EXPECT_LT(err[GgmlType::kF32], 1e-5f);
  // More bits, less error (round to nearest everywhere, so the order is the bits' order).
  EXPECT_LT(err[GgmlType::kF16], err[GgmlType::kQ8_0]);
  EXPECT_LT(err[GgmlType::kQ8_0], err[GgmlType::kQ6_K]);
  EXPECT_LT(err[GgmlType::kQ6_K], err[GgmlType::kQ5_K]);
  EXPECT_LT(err[GgmlType::kQ5_K], err[GgmlType::kQ4_K]);
  EXPECT_LT(err[GgmlType::kQ4_K], err[GgmlType::kQ3_K]);
  EXPECT_LT(err[GgmlType::kQ3_K], err[GgmlType::kQ2_K]);
  EXPECT_LT(err[GgmlType::kQ5_0], err[GgmlType::kQ4_0]);
  EXPECT_LT(err[GgmlType::kQ5_1], err[GgmlType::kQ4_1]);
  for (const auto& [t, e] : err)
    std::printf("wide llama %-7s rms logit error %.6f\n", ggml_type_name(t), e);
}

TEST(GgufWideModelTest, Llama3RopeScalingTravelsAsRopeFreqs) {
  TempDir tmp;
  const std::string dir =
      write_wide_llama(tmp, R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 32})");
  const std::string path = export_as(dir, tmp, GgmlType::kF32);
  auto f = formats::GgufFile::open(path);
  ASSERT_TRUE(f.ok());
  ASSERT_NE(f->contents().find_tensor("rope_freqs.weight"), nullptr);
  auto gguf = load(path);
  auto hf = load(dir);
  ASSERT_TRUE(gguf && hf);
  const RopeConfig& r = gguf->config().rope;
  EXPECT_EQ(r.type, RopeType::kLlama3);
  EXPECT_EQ(r.factor, 8.0);
  EXPECT_EQ(r.original_max_position_embeddings, 32);
  std::vector<int32_t> ids;
  for (int i = 0; i < 100; ++i) ids.push_back((i * 53 + 7) % 256);  // past the original context
  const auto got = all_logits(*gguf, ids), want = all_logits(*hf, ids);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(max_abs_diff(got.data(), want.data(), got.size()), 1e-5f);
}

TEST(GgufModelErrorsTest, MetadataProblemsAreListedByKey) {
  TempDir tmp;
  const std::string path = tmp.file("bad.gguf");
  std::vector<std::pair<std::string, formats::GgufValue>> meta = {
      {"general.architecture", formats::GgufValue::string("llama")},
      {"llama.block_count", formats::GgufValue::string("two")},
  };
  ASSERT_TRUE(formats::write_gguf(path, meta, {}).ok());
  auto m = load_model(path);
  ASSERT_FALSE(m.ok());
  const std::string msg = m.status().message();
  EXPECT_NE(msg.find("metadata 'llama.block_count' must be an integer, got string"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("metadata 'llama.embedding_length' is missing"), std::string::npos) << msg;

  meta[0].second = formats::GgufValue::string("gpt2");
  ASSERT_TRUE(formats::write_gguf(path, meta, {}).ok());
  m = load_model(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("general.architecture 'gpt2' is not supported"),
            std::string::npos)
      << m.status().message();
}

TEST(GgufModelErrorsTest, AMissingTensorIsNamedByItsHuggingFaceName) {
  TempDir tmp;
  const std::string path = export_as(fixture_dir("qwen2"), tmp, GgmlType::kF32);
  auto f = formats::GgufFile::open(path);
  ASSERT_TRUE(f.ok());
  std::vector<formats::GgufTensorData> ts;
  for (const auto& t : f->contents().tensors) {
    if (t.name == "blk.1.ffn_up.weight") continue;
    ts.push_back({t.name, t.type, t.dims, {t.data, t.data + t.size_bytes}});
  }
  const std::string cut = tmp.file("cut.gguf");
  ASSERT_TRUE(formats::write_gguf(cut, f->contents().metadata, ts).ok());
  auto m = load_model(cut);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("model.layers.1.mlp.up_proj.weight: missing"),
            std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace fathom::model
