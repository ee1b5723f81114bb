// The workload and catalogue parsers: defaults, every bad field named, and the shipped
// catalogue complete (every entry has a source and a date).
#include <gtest/gtest.h>

#include "plan/calibration.h"
#include "plan/catalogue.h"
#include "plan/plan_test_support.h"
#include "plan/workload.h"

namespace fathom::plan {
namespace {

TEST(WorkloadTest, ReadsEveryField) {
  const char* yaml = R"(
model: deepseek-r1-distill-qwen-7b
weights: gptq4
kv_dtype: fp8
traffic: {requests_per_day: 864000, hourly_profile: [1,1,1,1,1,1,1,1,1,1,1,1,3,3,3,3,3,3,3,3,3,3,3,3]}
prompt_tokens: {mean: 800, p95: 3000}
output_tokens: {mean: 250}
cached_prompt_share: 0.5
targets: {ttft_ms: 1500, tpot_ms: 60, percentile: 95}
data_sensitivity: high
sensitive_share: 0.4
budget: {monthly: "12345.67"}
customization: adapters
site: {power_kw: 20, region: cn}
currency: CNY
months: 24
headroom: 0.3
devices: [h20, ascend-910b]
)";
  Result<Workload> r = parse_workload(yaml, "w.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Workload w = *r;
  ASSERT_TRUE(validate_workload(w).ok());
  EXPECT_EQ(w.model, "deepseek-r1-distill-qwen-7b");
  EXPECT_EQ(*w.weights, "gptq4");
  EXPECT_DOUBLE_EQ(w.requests_per_s, 10.0);
  EXPECT_DOUBLE_EQ(w.hourly[0], 0.5);  // normalised to mean 1
  EXPECT_DOUBLE_EQ(w.peak_factor(), 1.5);
  EXPECT_EQ(w.output.p95, 250);
  EXPECT_EQ(w.sensitivity, Sensitivity::kHigh);
  EXPECT_DOUBLE_EQ(w.sensitive_share, 0.4);
  EXPECT_EQ(w.monthly_budget->to_string(), "12345.67");
  EXPECT_EQ(w.customization, Customization::kAdapters);
  EXPECT_EQ(w.currency, Currency::kCny);
  EXPECT_EQ(w.devices.size(), 2u);
}

TEST(WorkloadTest, HighSensitivityDefaultsToAllTrafficSensitive) {
  Workload w = *parse_workload("model: deepseek-v3\ndata_sensitivity: high\n", "w.yaml");
  EXPECT_DOUBLE_EQ(w.sensitive_share, 1.0);
}

TEST(WorkloadTest, ReportsEveryBadFieldAtOnceByPath) {
  const char* yaml = R"(
traffic: {requests_per_s: -1, hourly_profile: [1, 2]}
prompt_tokens: {mean: "many"}
targets: {tpot_ms: null, ttft_ms: [1]}
data_sensitivity: secret
budget: {monthly: "1e6"}
months: 0
colour: blue
)";
  Result<Workload> r = parse_workload(yaml, "w.yaml");
  ASSERT_FALSE(r.ok());
  const std::string m = r.status().message();
  for (const char* field : {"model: is required", "traffic.requests_per_s",
                            "traffic.hourly_profile", "prompt_tokens.mean", "targets.ttft_ms",
                            "data_sensitivity: must be one of low, medium, high", "budget.monthly",
                            "months", "colour: unknown field"})
    EXPECT_NE(m.find(field), std::string::npos) << field << " not in: " << m;
}

TEST(WorkloadTest, NotYamlOrNotAMapping) {
  EXPECT_FALSE(parse_workload("model: [unclosed", "w.yaml").ok());
  EXPECT_NE(parse_workload("- a\n- b\n", "w.yaml").status().message().find("must be a mapping"),
            std::string::npos);
  EXPECT_FALSE(parse_workload("", "w.yaml").ok());  // no model
}

TEST(WorkloadTest, CrossFieldRules) {
  Workload w = *parse_workload("model: x\nprompt_tokens: {mean: 500, p95: 100}\n", "w.yaml");
  EXPECT_NE(validate_workload(w).message().find("prompt_tokens.p95: must be >= mean"),
            std::string::npos);
}

TEST(CatalogueTest, ShippedCatalogueParsesAndEveryEntryHasASource) {
  Result<Catalogue> r =
      parse_catalogue(testing::read_text("data/plan/catalogue.yaml"), "catalogue.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const Catalogue& c = *r;
  EXPECT_FALSE(c.fx_provenance.source.empty());
  EXPECT_FALSE(c.site.provenance.source.empty());
  for (const char* id : {"h100-sxm", "h200", "h800", "h20", "a100-80g", "a30", "l40s", "rtx-4090",
                         "jetson-agx-orin-64", "ascend-910b", "xeon-8480", "epyc-9654"})
    EXPECT_NE(c.device(id), nullptr) << id;
  for (const Device& d : c.devices) {
    EXPECT_FALSE(d.provenance.source.empty()) << d.id;
    EXPECT_EQ(d.provenance.date.size(), 10u) << d.id;
    EXPECT_TRUE(d.purchase.given()) << d.id;
    EXPECT_FALSE(d.purchase_provenance.source.empty()) << d.id;
    if (d.cloud) {
      EXPECT_FALSE(d.cloud->provenance.source.empty()) << d.id;
    }
  }
  ASSERT_NE(c.offer("deepseek-chat"), nullptr);
  ASSERT_NE(c.offer("seed-example"), nullptr);
  // The seed's example price: 0.1 CNY per 1K tokens = 100 CNY per million.
  EXPECT_EQ(c.in(c.offer("seed-example")->output_per_million, Currency::kCny)->exact_string(),
            "100");
  for (const SaasOffer& o : c.saas) EXPECT_FALSE(o.provenance.source.empty()) << o.id;
}

TEST(CatalogueTest, TheSaasListIsOptional) {
  Result<Catalogue> r = parse_catalogue(testing::read_text("tests/data/plan/e2e_catalogue.yaml"),
                                        "e2e_catalogue.yaml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->saas.empty());
}

TEST(CatalogueTest, EntriesWithoutSourceOrDateAreRefused) {
  std::string text = testing::read_text("tests/data/plan/test_catalogue.yaml");
  const size_t src = text.find("    source: test\n    date: 2025-01-01\n    purchase:");
  text.erase(src, std::string("    source: test\n    date: 2025-01-01\n").size());
  Result<Catalogue> r = parse_catalogue(text, "cat.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("devices[0].source: is required"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("devices[0].date: is required"), std::string::npos);
}

TEST(CatalogueTest, BadPricesAndDuplicatesNamed) {
  const char* yaml = R"(
version: 1
fx: {usd_to_cny: "seven", source: s, date: 2025-1-1}
site: {pue: "0.5"}
devices:
  - {id: a, kind: quantum, memory_gib: -1, bandwidth_gbps: 1, bf16_tflops: 1, tdp_w: 1, source: s, date: 2025-01-01,
     purchase: {device: {eur: "1"}, source: s, date: 2025-01-01}}
  - {id: a, memory_gib: 1, bandwidth_gbps: 1, bf16_tflops: 1, tdp_w: 1, source: s, date: 2025-01-01}
)";
  const std::string m = parse_catalogue(yaml, "cat.yaml").status().message();
  for (const char* p :
       {"fx.usd_to_cny", "fx.date: must be YYYY-MM-DD", "site.pue",
        "site.electricity_per_kwh: is required", "devices[0].kind", "devices[0].memory_gib",
        "devices[0].purchase.device.eur: unknown field", "devices[1].id: 'a' is listed twice"})
    EXPECT_NE(m.find(p), std::string::npos) << p << " not in: " << m;
}

TEST(CalibrationTest, EfficienciesFromTheBenchContract) {
  const char* bench =
      R"({"model":"bench-llama","threads":8,"isa":"avx512","weights_bytes":1000000000,
    "machine":{"read_gbps":40.0,"peak_gflops":2000.0},
    "results":[{"test":"pp512","batch":1,"tokens_per_s":300.0,"gbps":5.0,"gflops":600.0},
               {"test":"tg128","batch":1,"tokens_per_s":30.0,"gbps":30.0,"gflops":60.0},
               {"test":"tg128","batch":8,"tokens_per_s":200.0,"gbps":25.0,"gflops":400.0}]})";
  Result<BenchReport> r = parse_bench_report(bench);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Result<Calibration> c = calibrate_from(*r);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_DOUBLE_EQ(c->efficiency.bandwidth, 0.75);  // 30 / 40
  EXPECT_DOUBLE_EQ(c->efficiency.compute, 0.3);     // 600 / 2000
  c->measured_at = "2025-12-05T22:00:00.000Z";
  c->memory_gib = 16;
  Result<Calibration> back = parse_calibration(calibration_to_json(*c), "cal.json");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_DOUBLE_EQ(back->efficiency.bandwidth, 0.75);
  const Device d = this_machine(*back);
  EXPECT_EQ(d.id, "this-machine");
  EXPECT_DOUBLE_EQ(d.bandwidth_gbps, 40.0);
  EXPECT_DOUBLE_EQ(d.bf16_tflops, 2.0);
}

TEST(CalibrationTest, BadBenchOutputNamesTheField) {
  EXPECT_NE(parse_bench_report("not json").status().message().find("not a JSON object"),
            std::string::npos);
  EXPECT_NE(parse_bench_report(R"({"model":"m","threads":"8"})")
                .status()
                .message()
                .find("threads: has the wrong type"),
            std::string::npos);
  const char* no_tg =
      R"({"model":"m","threads":1,"isa":"x","weights_bytes":1,"machine":{"read_gbps":1,"peak_gflops":1},
    "results":[{"test":"pp512","batch":1,"tokens_per_s":1,"gbps":1,"gflops":1}]})";
  EXPECT_NE(
      calibrate_from(*parse_bench_report(no_tg)).status().message().find("no tg result at batch 1"),
      std::string::npos);
  EXPECT_NE(
      parse_bench_report(
          R"({"model":"m","threads":1,"isa":"x","weights_bytes":1,"machine":{"read_gbps":1,"peak_gflops":1},
    "results":[{"test":"tg","batch":1,"tokens_per_s":-1,"gbps":1,"gflops":1}]})")
          .status()
          .message()
          .find("results[0].tokens_per_s"),
      std::string::npos);
}

}  // namespace
}  // namespace fathom::plan
