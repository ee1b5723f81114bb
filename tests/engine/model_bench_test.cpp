// fathom bench model's measurements: the FLOPs and weight bytes it reports are the model's own
// (checked against numbers computed by hand from config.json), and every test runs what it says.
#include "engine/model_bench.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/reference.h"

namespace fathom::engine {
namespace {

using fathom::testing::fixture_dir;
using model::Op;

std::unique_ptr<model::Model> load(const std::string& name) {
  auto m = model::load_model(fixture_dir(name));
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? std::move(*m) : nullptr;
}

TEST(ModelBench, RunsEveryTestWithTheTokensItReports) {
  auto m = load("llama");
  ASSERT_TRUE(m);
  ModelBenchConfig cfg;
  cfg.prompt_lengths = {8, 5};
  cfg.gen_tokens = 4;
  cfg.batches = {1, 3};
  cfg.reps = 2;
  cfg.depth = 6;
  auto rows = run_model_bench(*m, cfg);
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 4u);
  const auto& r = *rows;
  EXPECT_EQ(r[0].test, "pp8");
  EXPECT_EQ(r[0].tokens, 16);
  EXPECT_EQ(r[0].profile.forwards, 2);
  EXPECT_EQ(r[0].profile.tokens, 16);
  EXPECT_EQ(r[1].test, "pp5");
  EXPECT_EQ(r[2].test, "tg4");
  EXPECT_EQ(r[2].batch, 1);
  EXPECT_EQ(r[2].tokens, 8);
  EXPECT_EQ(r[2].profile.forwards, 8);
  EXPECT_EQ(r[3].batch, 3);
  EXPECT_EQ(r[3].tokens, 24);
  EXPECT_EQ(r[3].profile.tokens, 24);
  for (const auto& row : r) {
    EXPECT_EQ(row.depth, 6);
    EXPECT_GT(row.seconds, 0);
    EXPECT_GT(row.tokens_per_s, 0);
    EXPECT_GT(row.profile[Op::kLinear].calls, 0);
    EXPECT_GT(row.profile[Op::kAttention].calls, 0);
  }
}

TEST(ModelBench, LinearFlopsAndBytesAreTheModelsOwn) {
  auto m = load("qwen2");  // tied embeddings: the LM head is the embedding
  ASSERT_TRUE(m);
  const auto& c = m->config();
  const int64_t d = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const int64_t per_layer =
      d * c.num_heads * hd + 2 * d * c.num_kv_heads * hd + c.num_heads * hd * d + 3 * d * inter;
  const int64_t layer_params = c.num_layers * per_layer;
  const int64_t head_params = c.vocab_size * d;

  // bf16 checkpoint: 2 bytes per weight, the LM head counted once.
  const auto wb = m->weight_bytes();
  EXPECT_EQ(wb.total, 2 * (layer_params + head_params));
  EXPECT_EQ(wb.per_token, wb.total);

  ModelBenchConfig cfg;
  cfg.prompt_lengths = {7};
  cfg.gen_tokens = 3;
  cfg.batches = {2};
  auto rows = run_model_bench(*m, cfg);
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  const auto& pp = (*rows)[0];
  EXPECT_EQ(pp.profile[Op::kLinear].flops, 2 * 7 * layer_params);
  EXPECT_EQ(pp.profile[Op::kLmHead].flops, 2 * head_params);          // one row needs logits
  EXPECT_EQ(pp.profile[Op::kLinear].weight_bytes, 2 * layer_params);  // read once per forward
  const auto& tg = (*rows)[1];                                        // 3 steps of 2 streams
  EXPECT_EQ(tg.profile[Op::kLinear].flops, 2 * 6 * layer_params);
  EXPECT_EQ(tg.profile[Op::kLmHead].flops, 2 * 6 * head_params);
  EXPECT_EQ(tg.profile[Op::kLinear].weight_bytes + tg.profile[Op::kLmHead].weight_bytes,
            3 * wb.per_token);
  EXPECT_NEAR(tg.gbps * tg.seconds * 1e9, 3.0 * static_cast<double>(wb.per_token), 1.0);
}

TEST(ModelBench, AMoeDecodeStepReadsTheBytesPerTokenItReports) {
  auto m = load("deepseek_v3");
  ASSERT_TRUE(m);
  const auto wb = m->weight_bytes();
  EXPECT_LT(wb.per_token, wb.total);  // routed experts: only top-k per token
  ModelBenchConfig cfg;
  cfg.prompt_lengths = {};
  cfg.gen_tokens = 5;
  cfg.batches = {1};
  auto rows = run_model_bench(*m, cfg);
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  const auto& p = (*rows)[0].profile;
  EXPECT_EQ(p[Op::kLinear].weight_bytes + p[Op::kLmHead].weight_bytes, 5 * wb.per_token);
  EXPECT_GT(p[Op::kMoeRouting].calls, 0);
}

TEST(ModelBench, RefusesTestsLongerThanTheContext) {
  auto m = load("llama");
  ASSERT_TRUE(m);
  ModelBenchConfig cfg;
  cfg.prompt_lengths = {static_cast<int32_t>(m->config().max_position_embeddings) + 1};
  auto rows = run_model_bench(*m, cfg);
  EXPECT_EQ(rows.status().code(), Code::kInvalidArgument);
  cfg.prompt_lengths = {4};
  cfg.depth = static_cast<int32_t>(m->config().max_position_embeddings) - cfg.gen_tokens;
  EXPECT_FALSE(run_model_bench(*m, cfg).ok());
  cfg.depth = 0;
  cfg.batches = {0};
  EXPECT_FALSE(run_model_bench(*m, cfg).ok());
}

TEST(ModelBench, ReportsAreTablesAndJson) {
  auto m = load("llama");
  ASSERT_TRUE(m);
  ModelBenchConfig cfg;
  cfg.prompt_lengths = {4};
  cfg.gen_tokens = 2;
  ModelBenchReport report{"llama", {}, m->weight_bytes(), {}};
  report.machine.read_gbps = 10;
  report.machine.peak_gflops = 100;
  auto rows = run_model_bench(*m, cfg);
  ASSERT_TRUE(rows.ok());
  report.rows = *rows;
  const std::string table = model_bench_table(report);
  EXPECT_NE(table.find("| pp4 "), std::string::npos) << table;
  EXPECT_NE(table.find("| tg2 "), std::string::npos) << table;
  const auto j = nlohmann::json::parse(model_bench_json(report));
  EXPECT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][1]["test"], "tg2");
  EXPECT_EQ(j["machine"]["read_gbps"], 10.0);
  EXPECT_EQ(j["machine"]["compute_peak_gflops"], 100.0);
  EXPECT_EQ(j["machine"]["compute_peak_instruction"], "f32 FMA");
  double shares = 0;
  for (const auto& [op, v] : j["results"][0]["ops"].items()) shares += v["share"].get<double>();
  EXPECT_NEAR(shares, 1.0, 1e-6);

  // Against the linear kernels' own instruction: "% peak" of its peak, named above the table.
  report.compute = kernels::cpu::DotPeak::kBf16;
  report.compute_peak_gflops = 200;
  const auto jb = nlohmann::json::parse(model_bench_json(report));
  EXPECT_EQ(jb["machine"]["peak_gflops"], 100.0);
  EXPECT_EQ(jb["machine"]["compute_peak_gflops"], 200.0);
  EXPECT_EQ(jb["machine"]["compute_peak_instruction"], "vdpbf16ps");
  EXPECT_NE(model_bench_table(report).find("linear kernels: vdpbf16ps, peak 200 GFLOP/s"),
            std::string::npos);
}

}  // namespace
}  // namespace fathom::engine
