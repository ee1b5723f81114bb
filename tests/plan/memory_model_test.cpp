// The memory model against hand-computed numbers and against the real fixture checkpoints:
// the bytes it predicts for a config.json must be the bytes the safetensors file stores.
#include "plan/memory_model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "plan/model_catalogue.h"

namespace fathom::plan {
namespace {

WeightFormat fmt(const char* name) { return *WeightFormat::parse(name); }

TEST(MemoryModelTest, DeepSeekV3ParameterCountsMatchHandComputation) {
  // Hand computation (docs/plan.md): embedding + lm_head 2 x 129280 x 7168; 61 layers of MLA
  // attention (187,107,328) and norms (14,336); 3 dense MLPs 3 x 7168 x 18432; 58 MoE layers of
  // router (1,835,008 + 256 bias), 1 shared + 256 routed experts of 3 x 7168 x 2048; final norm.
  const ModelSpec v3 = *resolve_model("deepseek-v3");
  const WeightFootprint w = weight_footprint(v3.config, fmt("bf16"));
  EXPECT_EQ(w.total_params, 671'026'419'200);
  // Active: all but the embedding table and the 248 unrouted experts of each MoE layer.
  EXPECT_EQ(w.active_params, 671'026'419'200 - 926'679'040 - 248LL * 58 * 44'040'192);
  EXPECT_EQ(w.num_moe_layers, 58);
  EXPECT_EQ(w.expert_bytes, 2 * 44'040'192);
}

TEST(MemoryModelTest, Llama70BParameterCount) {
  const WeightFootprint w =
      weight_footprint(resolve_model("deepseek-r1-distill-llama-70b")->config, fmt("bf16"));
  EXPECT_EQ(w.total_params, 70'553'706'496);
  EXPECT_EQ(w.total_bytes, 2 * 70'553'706'496);
  EXPECT_EQ(w.active_params, w.total_params - 128256LL * 8192);  // the embedding row is a lookup
}

TEST(MemoryModelTest, KvBytesPerTokenFromTheArchitecture) {
  // MLA: layers x (kv_lora_rank + qk_rope_head_dim) x dtype bytes.
  EXPECT_EQ(kv_bytes_per_token(resolve_model("deepseek-v3")->config, KvDtype::kBf16), 61 * 576 * 2);
  EXPECT_EQ(kv_bytes_per_token(resolve_model("deepseek-v2-lite")->config, KvDtype::kFp8), 27 * 576);
  // GQA: layers x 2 (K, V) x kv heads x head_dim x dtype bytes.
  EXPECT_EQ(
      kv_bytes_per_token(resolve_model("deepseek-r1-distill-llama-70b")->config, KvDtype::kBf16),
      80 * 2 * 8 * 128 * 2);
  EXPECT_EQ(kv_bytes_per_token(resolve_model("deepseek-r1-distill-qwen-7b")->config, KvDtype::kF32),
            28 * 2 * 4 * 128 * 4);
  EXPECT_EQ(kv_bytes_per_token(resolve_model("deepseek-llm-7b")->config, KvDtype::kBf16),
            30 * 2 * 32 * 128 * 2);
}

TEST(MemoryModelTest, QuantizedMatrixBytesIncludeScalesAndZeros) {
  // [4096 out, 4096 in], group 128: qweight 4 x 512 x 4096, qzeros 4 x 32 x 512, scales
  // 2 x 32 x 4096, g_idx 4 x 4096.
  EXPECT_EQ(fmt("gptq4").matrix_bytes(4096, 4096), 8'388'608 + 65'536 + 262'144 + 16'384);
  EXPECT_EQ(fmt("awq4").matrix_bytes(4096, 4096), 8'388'608 + 65'536 + 262'144);
  EXPECT_EQ(fmt("gptq4-g64").matrix_bytes(4096, 4096),
            8'388'608 + 4 * 64 * 512 + 2 * 64 * 4096 + 16'384);
  // fp8: one byte a weight + an f32 scale per 128 x 128 block.
  EXPECT_EQ(fmt("fp8").matrix_bytes(7168, 2048), 7168LL * 2048 + 4 * 56 * 16);
  // int8 per channel: int8 weights + a bf16 scale per row + the int64[2] shape record.
  EXPECT_EQ(fmt("int8").matrix_bytes(4096, 4096), 4096LL * 4096 + 2 * 4096 + 16);
  // GGUF: q4_k 144 bytes per 256 weights, q8_0 34 per 32.
  EXPECT_EQ(fmt("q4_k").matrix_bytes(4096, 4096), 4096LL * 16 * 144);
  EXPECT_EQ(fmt("q8_0").matrix_bytes(4096, 4096), 4096LL * 128 * 34);
}

TEST(MemoryModelTest, DecodeReadsOnlyTheExpertsTheBatchTouches) {
  const WeightFootprint w = weight_footprint(resolve_model("deepseek-v3")->config, fmt("fp8"));
  // Batch 1: 8 of 256 experts per MoE layer.
  EXPECT_NEAR(decode_weight_bytes(w, 1),
              static_cast<double>(w.always_read_bytes + 58 * 8 * w.expert_bytes), 1.0);
  // A huge batch touches every expert: the whole model but the embedding table.
  EXPECT_NEAR(decode_weight_bytes(w, 100000),
              static_cast<double>(w.total_bytes - w.embedding_bytes), 1.0);
}

TEST(MemoryModelTest, BuiltinModelsAllResolve) {
  for (const std::string& name : builtin_model_names()) {
    Result<ModelSpec> m = resolve_model(name);
    ASSERT_TRUE(m.ok()) << name << ": " << m.status().to_string();
    EXPECT_GT(weight_footprint(m->config, m->native_format).total_params, 1'000'000'000) << name;
  }
  EXPECT_FALSE(resolve_model("gpt-5").ok());
}

// Bytes of every tensor in a fixture's safetensors file (its header says dtype and shape).
int64_t checkpoint_bytes(const std::string& dir) {
  std::ifstream in(dir + "/model.safetensors", std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  const nlohmann::json h = nlohmann::json::parse(header);
  int64_t total = 0;
  for (const auto& [name, t] : h.items()) {
    if (name == "__metadata__") continue;
    total += t["data_offsets"][1].get<int64_t>() - t["data_offsets"][0].get<int64_t>();
  }
  return total;
}

class FixtureBytes : public ::testing::TestWithParam<const char*> {};

TEST_P(FixtureBytes, PredictedWeightsEqualTheCheckpoint) {
  const std::string dir = std::string("tests/data/models/") + GetParam();
  Result<ModelSpec> m = resolve_model(dir);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(weight_footprint(m->config, m->native_format).total_bytes, checkpoint_bytes(dir))
      << m->native_format.name();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureBytes,
                         ::testing::Values("deepseek_v2", "deepseek_v2_grouped", "deepseek_v3",
                                           "deepseek_v3_fp8", "llama", "llama_awq", "llama_gptq",
                                           "qwen2", "qwen2_awq", "qwen2_gptq",
                                           "qwen2_gptq_actorder", "qwen2_int8"));

}  // namespace
}  // namespace fathom::plan
