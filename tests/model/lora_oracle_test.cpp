// The oracle for unmerged LoRA: an adapter merged into the base weights (W + scale * B A) is an
// ordinary checkpoint the engine already computes exactly. One mixed batch (base + three
// adapters, prefill then decode) must give every sequence its merged model's logits.
#include <gtest/gtest.h>

#include "model/model.h"
#include "support/lora_fixture.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::model {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::max_abs_diff;
using fathom::testing::RandomAdapterSpec;
using fathom::testing::TempDir;

constexpr int32_t kBlock = 8;

std::vector<RandomAdapterSpec> adapter_specs(bool deepseek) {
  std::vector<RandomAdapterSpec> specs(3);
  if (deepseek) {
    specs[0].target_modules = {"q_proj", "q_a_proj", "q_b_proj", "o_proj"};
    specs[1].target_modules = {"kv_a_proj_with_mqa", "gate_proj", "up_proj", "down_proj"};
    specs[2].target_modules = {R"(.*\.(experts\.\d+|shared_experts)\.(gate|down)_proj)"};
  } else {
    specs[0].target_modules = {"q_proj", "v_proj"};
    specs[1].target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                               "gate_proj", "up_proj", "down_proj"};
    specs[2].target_modules = {R"(model\.layers\.1\.(self_attn\.o_proj|mlp\.down_proj))"};
  }
  specs[2].regex = true;
  specs[1].rank = 8;
  specs[1].use_rslora = true;
  specs[2].rank = 2;
  specs[2].alpha = 4;
  for (size_t i = 0; i < specs.size(); ++i) specs[i].seed = 100 + i;
  return specs;
}

/// Prefill of `prompts` then one decode step of `next` each, over one batch; returns each
/// step's logits (every row of the prefill, one row per sequence for the decode).
std::array<std::vector<float>, 2> run(Model& m, const std::vector<std::vector<int32_t>>& prompts,
                                      const std::vector<int32_t>& next,
                                      const std::vector<const lora::LoraAdapter*>& seq_lora) {
  auto kv = runtime::KvStorage::allocate(m.kv_layout(), 64, kBlock);
  EXPECT_TRUE(kv.ok());
  const auto num_seqs = static_cast<int32_t>(prompts.size());
  std::vector<std::vector<int32_t>> tables(static_cast<size_t>(num_seqs));
  for (int32_t blk = 0; blk < 64; ++blk) tables[blk % num_seqs].push_back(blk);  // interleaved
  std::array<std::vector<float>, 2> out;
  for (int step = 0; step < 2; ++step) {
    ForwardBatch b;
    b.block_tables = tables;
    b.seq_lora = seq_lora;
    for (int32_t s = 0; s < num_seqs; ++s) {
      const auto& p = prompts[s];
      const auto len = static_cast<int32_t>(p.size());
      for (int32_t i = step == 0 ? 0 : len; i < (step == 0 ? len : len + 1); ++i) {
        b.output_rows.push_back(static_cast<int32_t>(b.token_ids.size()));
        b.token_ids.push_back(i < len ? p[i] : next[s]);
        b.positions.push_back(i);
        b.seq_idx.push_back(s);
      }
    }
    const Status st = m.forward(b, *kv, out[step]);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
  return out;
}

class LoraOracleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LoraOracleTest, MixedBatchMatchesMergedCheckpoints) {
  const std::string base_dir = fixture_dir(GetParam());
  TempDir tmp;
  auto base = load_model(base_dir);
  ASSERT_TRUE(base.ok()) << base.status().to_string();
  const int64_t vocab = (*base)->config().vocab_size;
  const auto specs = adapter_specs((*base)->config().family == ArchFamily::kDeepseek);

  std::vector<std::shared_ptr<const lora::LoraAdapter>> adapters;
  std::vector<std::unique_ptr<Model>> merged;
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string dir = tmp.file("adapter" + std::to_string(i));
    const std::string merged_dir = tmp.file("merged" + std::to_string(i));
    ASSERT_TRUE(fathom::testing::write_random_adapter(base_dir, dir, specs[i]).ok());
    ASSERT_TRUE(fathom::testing::write_merged_checkpoint(base_dir, dir, merged_dir).ok());
    auto a = lora::load_lora_adapter("a" + std::to_string(i), dir, (*base)->lora_targets());
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    adapters.push_back(*a);
    auto mm = load_model(merged_dir);
    ASSERT_TRUE(mm.ok()) << mm.status().to_string();
    merged.push_back(std::move(*mm));
  }

  // Four sequences of different lengths: base, a0, a1, a2 (and a0 again, out of order).
  const std::vector<std::vector<int32_t>> prompts = {
      {3, 17, 42, 99, 7},
      {5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 10},
      {300, 200, 100},
      {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18},
      {450, 451, 452, 453}};
  const std::vector<int32_t> next = {11, 12, 13, 14, 15};
  const std::vector<const lora::LoraAdapter*> seq_lora = {
      nullptr, adapters[0].get(), adapters[1].get(), adapters[2].get(), adapters[0].get()};
  const std::vector<Model*> oracle = {base->get(), merged[0].get(), merged[1].get(),
                                      merged[2].get(), merged[0].get()};
  const auto mixed = run(**base, prompts, next, seq_lora);

  int64_t row0 = 0;
  for (size_t s = 0; s < prompts.size(); ++s) {
    const auto alone = run(*oracle[s], {prompts[s]}, {next[s]}, {});
    const auto plain = run(**base, {prompts[s]}, {next[s]}, {});
    const auto len = static_cast<int64_t>(prompts[s].size());
    float adapter_effect = 0;
    for (int64_t i = 0; i < len; ++i) {
      const float* got = mixed[0].data() + (row0 + i) * vocab;
      EXPECT_LT(max_abs_diff(got, alone[0].data() + i * vocab, vocab), 1e-3f)
          << GetParam() << " sequence " << s << " prefill row " << i;
      adapter_effect =
          std::max(adapter_effect, max_abs_diff(got, plain[0].data() + i * vocab, vocab));
    }
    EXPECT_LT(max_abs_diff(mixed[1].data() + s * vocab, alone[1].data(), vocab), 1e-3f)
        << GetParam() << " sequence " << s << " decode";
    // The oracle must be able to fail: every adapter moves the logits well past the tolerance.
    if (seq_lora[s]) {
      EXPECT_GT(adapter_effect, 1e-2f) << GetParam() << " sequence " << s;
    }
    row0 += len;
  }
}

TEST_P(LoraOracleTest, AdapterFromAnotherModelIsRefusedByForward) {
  auto base = load_model(fixture_dir(GetParam()));
  ASSERT_TRUE(base.ok());
  lora::LoraAdapter foreign;
  foreign.name = "foreign";
  foreign.targets_fingerprint = (*base)->lora_targets().fingerprint() + 1;
  auto kv = runtime::KvStorage::allocate((*base)->kv_layout(), 4, kBlock);
  ASSERT_TRUE(kv.ok());
  ForwardBatch b;
  b.token_ids = {3};
  b.positions = {0};
  b.seq_idx = {0};
  b.block_tables = {{0}};
  b.output_rows = {0};
  b.seq_lora = {&foreign};
  std::vector<float> logits;
  const Status st = (*base)->forward(b, *kv, logits);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("'foreign' was loaded for another model"), std::string::npos)
      << st.message();
  b.seq_lora = {nullptr, nullptr};
  EXPECT_EQ((*base)->forward(b, *kv, logits).code(), Code::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LoraOracleTest,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v3"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace fathom::model
