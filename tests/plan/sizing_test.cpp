// The roofline and the device-count search against hand-computed numbers.
#include "plan/sizing.h"

#include <gtest/gtest.h>

#include "plan/model_catalogue.h"
#include "plan/plan_test_support.h"

namespace fathom::plan {
namespace {

// A model reduced to the numbers the roofline reads: 5 GB read per step, 1e10 FLOPs per
// token, 100 KB of KV per token; one layer with one 1-wide head (attention FLOPs negligible).
struct Synthetic {
  model::ModelConfig cfg;
  ModelCosts costs;
  Device dev;
  Synthetic() {
    cfg.num_layers = 1;
    cfg.num_heads = 1;
    cfg.head_dim = 1;
    costs.weights.always_read_bytes = 5'000'000'000;
    costs.weights.linear_flops_per_token = 10'000'000'000;
    costs.kv_bytes_per_token = 100'000;
    costs.config = &cfg;
    dev.id = "d";
    dev.bandwidth_gbps = 1000;
    dev.bf16_tflops = 100;
    dev.max_per_node = 8;
    dev.link_gbps = 600;
  }
};

TEST(RooflineTest, DecodeIsBandwidthBoundAtBatchOne) {
  Synthetic s;
  const ReplicaHardware hw{&s.dev, 1, {0.5, 0.5}};
  // (5e9 + 1 x 1e5 x 1000) B / (1000 GB/s x 0.5) = 10.2 ms; compute 1e10 / 50 TFLOP/s = 0.2 ms.
  EXPECT_NEAR(decode_step_seconds(s.costs, hw, 1, 1000), 0.0102, 1e-6);
  // Batch 64: (5e9 + 64 x 1e8) / 5e11 = 22.8 ms (compute 12.8 ms).
  EXPECT_NEAR(decode_step_seconds(s.costs, hw, 64, 1000), 0.0228, 1e-6);
  // Batch 512 at context 10 is compute bound: 512 x 1e10 / 5e13 = 102.4 ms against
  // (5e9 + 512 x 1e5 x 10) / 5e11 = 11.0 ms of reading.
  EXPECT_NEAR(decode_step_seconds(s.costs, hw, 512, 10), 0.1024, 1e-4);
}

TEST(RooflineTest, PrefillIsComputeBound) {
  Synthetic s;
  const ReplicaHardware hw{&s.dev, 1, {0.5, 0.5}};
  EXPECT_NEAR(prefill_seconds(s.costs, hw, 1000), 0.2, 1e-4);  // 1000 x 1e10 / 5e13
}

TEST(RooflineTest, TensorParallelSplitsTheWorkAndAddsSynchronisation) {
  Synthetic s;
  const ReplicaHardware one{&s.dev, 1, {0.5, 0.5}}, two{&s.dev, 2, {0.5, 0.5}};
  // Half the time per device plus 2 all-reduces x 1 layer x 8 us.
  EXPECT_NEAR(decode_step_seconds(s.costs, two, 1, 1000), 0.0102 / 2 + 16e-6, 1e-9);
  EXPECT_LT(decode_step_seconds(s.costs, two, 1, 1000), decode_step_seconds(s.costs, one, 1, 1000));
}

ModelCosts costs_of(const ModelSpec& m, const WeightFormat& f, KvDtype kv) {
  return {weight_footprint(m.config, f), kv_bytes_per_token(m.config, kv), &m.config};
}

TEST(SizingTest, DeepSeekV3NeedsTwoNodesOf80GiBDevices) {
  const Catalogue cat = testing::test_catalogue();
  const ModelSpec v3 = *resolve_model("deepseek-v3");
  Workload w = testing::test_workload();
  w.tpot_ms = 200;
  w.ttft_ms = 20000;
  const ModelCosts c = costs_of(v3, v3.native_format, KvDtype::kBf16);
  const Sizing s = size_deployment(c, w, *cat.device("gpu-a"), {0.75, 0.5});
  ASSERT_TRUE(s.feasible) << s.why_not;
  EXPECT_EQ(s.devices_per_replica, 16);  // ~628 GiB of fp8 weights > 8 x 80 x 0.92 GiB
  EXPECT_EQ(s.tensor_parallel, 16);
  EXPECT_EQ(s.expert_parallel, 16);
  EXPECT_GE(s.max_sequences, 1);
  EXPECT_LE(s.memory.total_bytes, s.memory.capacity_bytes);
  // MLA's latent cache is replicated on every tensor-parallel rank.
  EXPECT_EQ(s.memory.kv_bytes_per_sequence, c.kv_bytes_per_token * s.context_tokens * 16);
}

TEST(SizingTest, ReplicasFollowTheHourlyProfile) {
  const Catalogue cat = testing::test_catalogue();
  const ModelSpec m = *resolve_model("deepseek-r1-distill-qwen-7b");
  Workload w = testing::test_workload();
  w.requests_per_s = 20;
  for (size_t h = 0; h < 24; ++h) w.hourly[h] = h < 12 ? 0.5 : 1.5;
  const Sizing s = size_deployment(costs_of(m, m.native_format, KvDtype::kBf16), w,
                                   *cat.device("gpu-a"), {0.75, 0.5});
  ASSERT_TRUE(s.feasible) << s.why_not;
  EXPECT_EQ(s.devices_per_replica, 1);
  for (size_t h = 0; h < 24; ++h) {
    const double demand = w.requests_per_s * w.hourly[h] * 1.2;
    EXPECT_GE(static_cast<double>(s.replicas_by_hour[h]) * s.replica_requests_per_s, demand - 1e-9)
        << h;
    EXPECT_LT(static_cast<double>(s.replicas_by_hour[h] - 1) * s.replica_requests_per_s, demand)
        << h;
  }
  EXPECT_GT(s.peak_replicas, s.min_replicas);
  EXPECT_LE(s.tpot_s * 1000, w.tpot_ms);
}

TEST(SizingTest, InfeasibleTargetsSayWhy) {
  const Catalogue cat = testing::test_catalogue();
  const ModelSpec m = *resolve_model("deepseek-r1-distill-llama-70b");
  Workload w = testing::test_workload();
  w.tpot_ms = 0.5;
  const Sizing s = size_deployment(costs_of(m, m.native_format, KvDtype::kBf16), w,
                                   *cat.device("gpu-a"), {0.75, 0.5});
  EXPECT_FALSE(s.feasible);
  EXPECT_NE(s.why_not.find("over the 0 ms TPOT target"), std::string::npos) << s.why_not;
  const Sizing e = size_deployment(costs_of(m, m.native_format, KvDtype::kBf16),
                                   testing::test_workload(), *cat.device("edge-8g"), {0.6, 0.3});
  EXPECT_FALSE(e.feasible);
  EXPECT_NE(e.why_not.find("for one full-context sequence"), std::string::npos) << e.why_not;
}

}  // namespace
}  // namespace fathom::plan
