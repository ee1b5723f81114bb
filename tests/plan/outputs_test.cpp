// The whole planner on the test catalogue, and what it writes: the JSON report, the SVG chart,
// the deployment files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "plan/deploy_files.h"
#include "plan/plan_test_support.h"
#include "plan/planner.h"
#include "plan/report.h"

namespace fathom::plan {
namespace {

PlanInputs inputs(const char* model) {
  PlanInputs in;
  in.workload = testing::test_workload();
  in.workload.model = model;
  in.workload.hourly = default_hourly_profile();
  in.model = *resolve_model(model);
  in.catalogue = testing::test_catalogue();
  return in;
}

TEST(PlannerTest, PlansAServerAndExplainsIt) {
  Result<Plan> p = make_plan(inputs("deepseek-r1-distill-qwen-7b"));
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  ASSERT_NE(p->choice(), nullptr);
  EXPECT_EQ(p->choice()->device.id, "gpu-a");
  EXPECT_EQ(p->kv_dtype, KvDtype::kBf16);
  EXPECT_FALSE(p->decision.reasons.empty());
  ASSERT_EQ(p->sensitivity.size(), 9u);
  EXPECT_EQ(p->sensitivity[0].scenario, "as planned");
  // Doubling the traffic never makes the cheapest option cheaper.
  EXPECT_GE(p->sensitivity[2].cheapest_total, p->sensitivity[0].cheapest_total);
  const std::string text = render_text(*p);
  for (const char* s : {"Decision:", "KV cache: 57344 bytes per token", "Costs over 36 months",
                        "Break-even", "Sensitivity"})
    EXPECT_NE(text.find(s), std::string::npos) << s;
}

TEST(PlannerTest, JsonReportCarriesTheNumbers) {
  const Plan p = *make_plan(inputs("deepseek-v2-lite"));
  const nlohmann::json j = nlohmann::json::parse(render_json(p));
  EXPECT_EQ(j["model"]["kv_bytes_per_token"], 27 * 576 * 2);
  EXPECT_EQ(j["decision"]["mode"], mode_name(p.decision.mode));
  bool chosen = false;
  for (const auto& c : j["candidates"]) {
    if (!c["chosen"].get<bool>()) continue;
    chosen = true;
    EXPECT_EQ(c["costs"]["options"].size(), 7u);
    EXPECT_TRUE(c["costs"]["options"][0]["total"].is_string());  // exact decimal text, not a float
  }
  EXPECT_TRUE(chosen);
}

TEST(PlannerTest, EdgeDeviceForcesQuantization) {
  PlanInputs in = inputs("deepseek-r1-distill-qwen-7b");
  in.workload.edge_device = "edge-8g";
  in.workload.prompt = {500, 1000};
  in.workload.output = {200, 500};
  const Plan p = *make_plan(in);
  ASSERT_TRUE(p.edge);
  EXPECT_EQ(p.decision.mode, Mode::kEdge);
  ASSERT_TRUE(p.edge->fitting_format) << render_text(p);
  EXPECT_EQ(p.edge->tried.front().substr(0, 5), "bf16:");
  EXPECT_NE(p.edge->tried.front().find(" > "), std::string::npos);
  EXPECT_EQ(*p.edge->fitting_format, p.format.name());
  // 6.5B linear weights at 5.5 bits (4.5 GB) + 2.2 GB of bf16 embeddings + KV + runtime fit the
  // 7.36 GiB usable; bf16, fp8, int8 and q6_k do not.
  EXPECT_EQ(p.format.name(), "q5_k");
}

TEST(PlannerTest, UnknownDevicesAreErrorsNamingTheField) {
  PlanInputs in = inputs("deepseek-v3");
  in.workload.devices = {"tpu-v9"};
  EXPECT_NE(make_plan(in).status().message().find("devices: 'tpu-v9' is not in the catalogue"),
            std::string::npos);
  in.workload.devices.clear();
  in.workload.edge_device = "gpu-a";
  EXPECT_NE(make_plan(in).status().message().find("is not an edge device"), std::string::npos);
}

TEST(OutputsTest, ChartHasALinePerAvailableOption) {
  const Plan p = *make_plan(inputs("deepseek-r1-distill-qwen-7b"));
  const std::string svg = render_cost_chart_svg(p);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++lines;
  size_t available = 0;
  for (const CostOption& o : p.choice()->tco->options) available += o.available;
  EXPECT_EQ(lines, available);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(OutputsTest, DeploymentFilesFollowTheSizing) {
  PlanInputs in = inputs("deepseek-r1-distill-qwen-7b");
  in.workload.sensitivity = Sensitivity::kHigh;
  in.workload.sensitive_share = 0.2;
  const Plan p = *make_plan(in);
  DeployOptions o;
  o.serve_url = "http://10.0.0.5:8000";
  const DeployFiles f = *make_deploy_files(p, o);
  const Sizing& s = p.choice()->sizing;
  EXPECT_NE(f.gateway_yaml.find("url: \"http://10.0.0.5:8000\""), std::string::npos)
      << f.gateway_yaml;
  EXPECT_NE(f.gateway_yaml.find("name: deepseek-r1-distill-qwen-7b"), std::string::npos);
  if (p.decision.mode == Mode::kHybrid) {
    EXPECT_NE(f.gateway_yaml.find("zone: cloud"), std::string::npos);
    EXPECT_NE(f.kustomization_yaml.find("overlays/hybrid"), std::string::npos);
  } else {
    EXPECT_NE(f.kustomization_yaml.find("overlays/private"), std::string::npos);
  }
  EXPECT_NE(f.kustomization_yaml.find("FATHOM_MAX_NUM_SEQS=" + std::to_string(s.max_sequences)),
            std::string::npos);
  const std::vector<std::string>& a = f.serve_args;
  ASSERT_EQ(a.size(), 12u);
  EXPECT_EQ(a[5], std::to_string(s.context_tokens));
  // --kv-cache-mb: the KV of max_sequences full contexts, rounded up to MiB.
  EXPECT_EQ(f.kv_cache_mb, (57344LL * s.context_tokens * s.max_sequences + (1 << 20) - 1) >> 20);
  EXPECT_NE(serve_command_line(f).find("--kv-cache-mb " + std::to_string(f.kv_cache_mb)),
            std::string::npos);
  EXPECT_NE(serve_command_line(f).find(std::string("--kv-cache-dtype ") +
                                       model::kv_cache_dtype_name(p.kv_dtype)),
            std::string::npos);
}

TEST(OutputsTest, AFloatCheckpointPlannedQuantizedIsQuantizedAtLoad) {
  PlanInputs in = inputs("deepseek-r1-distill-qwen-7b");
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"int8", "int8"}, {"gptq4", "int4"}, {"awq4", "int4"}, {"fp8", "fp8"}};
  for (const auto& [format, flag] : cases) {
    in.workload.weights = format;
    const DeployFiles f = *make_deploy_files(*make_plan(in), DeployOptions{});
    ASSERT_EQ(f.serve_args.size(), 14u) << format;
    EXPECT_EQ(f.serve_args[12], "--quantization");
    EXPECT_EQ(f.serve_args[13], flag);
  }
  in.workload.weights = "q4_k";  // a GGUF type: serve has no such load-time format
  EXPECT_EQ(make_deploy_files(*make_plan(in), DeployOptions{})->serve_args.size(), 12u);
}

}  // namespace
}  // namespace fathom::plan
