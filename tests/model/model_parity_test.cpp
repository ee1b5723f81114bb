// Every fixture model against the Hugging Face reference: logits of each prompt within 1e-3
// (fp32 compute), and greedy decoding through the paged KV cache token for token.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "base/clock.h"
#include "engine/run_to_completion.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "model/model.h"
#include "support/all_logits.h"
#include "support/reference.h"

namespace fathom::model {
namespace {

using fathom::testing::all_logits;
using fathom::testing::fixture_dir;
using fathom::testing::max_abs_diff;
using fathom::testing::Reference;

constexpr float kLogitTolerance = 1e-3f;

class ModelParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelParityTest, LogitsOfEveryPromptMatchTheReference) {
  auto m = load_model(fixture_dir(GetParam()));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  Reference ref(GetParam());
  for (int p = 0; p < 4; ++p) {
    const std::string key = "p" + std::to_string(p);
    const auto ids = ref.ids(key + ".input_ids");
    const auto want = ref.floats(key + ".logits");
    ASSERT_FALSE(ids.empty());
    const auto got = all_logits(**m, ids);
    ASSERT_EQ(got.size(), want.size()) << key;
    EXPECT_LT(max_abs_diff(got.data(), want.data(), got.size()), kLogitTolerance)
        << GetParam() << " " << key << " (" << ids.size() << " tokens)";
  }
}

TEST_P(ModelParityTest, GreedyDecodingThroughThePagedCacheMatches) {
  auto m = load_model(fixture_dir(GetParam()));
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  Reference ref(GetParam());
  SteadyClock clock;
  engine::EngineConfig cfg;
  cfg.block_size = 4;              // many small blocks: decode crosses block boundaries often
  cfg.max_num_batched_tokens = 5;  // and the prompt is prefilled in chunks
  cfg.num_kv_blocks = 64;
  cfg.enable_prefix_caching = false;
  auto eng = engine::Engine::create(std::move(*m), cfg, clock);
  ASSERT_TRUE(eng.ok()) << eng.status().to_string();
  for (const char* key : {"p1", "p2"}) {
    const auto want = ref.ids(std::string(key) + ".greedy");
    engine::EngineRequest req;
    req.request_id = key;
    req.prompt_ids = ref.ids(std::string(key) + ".input_ids");
    req.params.max_tokens = static_cast<int64_t>(want.size());
    req.params.ignore_eos = true;
    auto got = engine::run_to_completion(**eng, req);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->ids, want) << GetParam() << " " << key;
  }
}

TEST_P(ModelParityTest, ReferenceKernelsAgreeWithTheReference) {
  auto m = load_model(fixture_dir(GetParam()), LoadOptions{.reference_kernels = true});
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  Reference ref(GetParam());
  const auto ids = ref.ids("p2.input_ids");
  const auto want = ref.floats("p2.logits");
  const auto got = all_logits(**m, ids);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(max_abs_diff(got.data(), want.data(), got.size()), kLogitTolerance);
}

TEST(ModelParityIsa, RunsOnTheExpectedKernelPath) {
  // The arm64 preset runs this binary once per NEON path (FATHOM_CPU_ISA caps the path,
  // tests/model/CMakeLists.txt): FATHOM_EXPECT_ISA makes sure the cap did not fall back to a
  // lesser path the emulated CPU has, so every path really meets the references.
  const char* expected = std::getenv("FATHOM_EXPECT_ISA");
  if (expected == nullptr) GTEST_SKIP() << "FATHOM_EXPECT_ISA not set";
  EXPECT_EQ(std::string(kernels::cpu::isa_name(kernels::cpu::best_isa())), expected);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelParityTest,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v2_grouped",
                                           "deepseek_v3", "deepseek_v3_fp8", "llama_gptq",
                                           "qwen2_gptq", "qwen2_gptq_actorder", "llama_awq",
                                           "qwen2_awq", "qwen2_int8"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace fathom::model
