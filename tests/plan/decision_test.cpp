// Golden table for the mode decision: each workload, the mode and billing it gets, and the
// phrases its explanation must carry. Costs come from the hand-checked test catalogue
// (tco_test.cpp has the numbers: owned 305,368; hybrid 293,804; on-demand 210,240; reserved
// 236,520; spot 115,632; serverless 56,764.80; SaaS 75,686.40 over 36 months).
#include "plan/decision.h"

#include <gtest/gtest.h>

#include <functional>

#include "plan/plan_test_support.h"

namespace fathom::plan {
namespace {

struct Case {
  const char* name;
  std::function<void(Workload&, Sizing&)> edit;
  Mode mode;
  CostKind billing;
  std::vector<const char*> phrases;
  const char* overlay;
};

std::string joined(const Decision& d) {
  std::string s;
  for (const std::string& r : d.reasons) s += r + "\n";
  return s;
}

class DecisionGolden : public ::testing::TestWithParam<Case> {};

TEST_P(DecisionGolden, ModeAndExplanation) {
  const Case& c = GetParam();
  const Catalogue cat = testing::test_catalogue();
  Workload w = testing::test_workload();
  Sizing s = testing::test_sizing();
  c.edit(w, s);
  const Tco t = compute_tco(cat, w, *cat.device("gpu-a"), s, cat.offer("deepseek-chat"));
  const Decision d = decide(w, s, t, std::nullopt);
  EXPECT_EQ(mode_name(d.mode), std::string(mode_name(c.mode))) << joined(d);
  EXPECT_EQ(cost_kind_name(d.billing), std::string(cost_kind_name(c.billing))) << joined(d);
  EXPECT_EQ(d.overlay, c.overlay);
  for (const char* p : c.phrases)
    EXPECT_NE(joined(d).find(p), std::string::npos) << "missing '" << p << "' in:\n" << joined(d);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DecisionGolden,
    ::testing::Values(
        Case{"all_sensitive_private",
             [](Workload& w, Sizing&) {
               w.sensitivity = Sensitivity::kHigh;
               w.sensitive_share = 1.0;
             },
             Mode::kPrivate,
             CostKind::kOwned,
             {"data sensitivity is high",
              "burst ratio (peak-hour replicas / quietest-hour replicas): 3 / 1 = 3.0",
              "no burst to move", "SaaS API"},
             "private"},
        Case{"some_sensitive_bursty_hybrid",
             [](Workload& w, Sizing&) {
               w.sensitivity = Sensitivity::kHigh;
               w.sensitive_share = 0.3;
             },
             Mode::kHybrid,
             CostKind::kHybrid,
             {"data sensitivity is high", "= 3.0",
              "costs 293804 USD over 36 months against 305368 USD for owning the peak"},
             "hybrid"},
        Case{"flat_load_sensitive_private",
             [](Workload& w, Sizing& s) {
               w.sensitivity = Sensitivity::kHigh;
               w.sensitive_share = 0.5;
               s.replicas_by_hour.fill(3);
               s.min_replicas = 3;
             },
             Mode::kPrivate,
             CostKind::kOwned,
             {"= 1.0", "no burst to move"},
             "private"},
        Case{"power_limit_warns",
             [](Workload& w, Sizing& s) {
               w.sensitivity = Sensitivity::kHigh;
               w.sensitive_share = 1.0;
               w.site_power_kw = 2.0;
               s.power_kw = 3.0;
             },
             Mode::kPrivate,
             CostKind::kOwned,
             {"draws 3.0 kW of device TDP, over the site's 2.0 kW"},
             "private"},
        Case{"tight_budget_serverless",
             [](Workload& w, Sizing&) { w.monthly_budget = Decimal::from_int(2000); },
             Mode::kServerless,
             CostKind::kServerless,
             {"budget is tight", "cloud_spot, 3212 USD a month", "serverless: 1577 USD a month"},
             "serverless"},
        Case{"tight_budget_saas_when_cheaper",
             [](Workload& w, Sizing& s) {
               w.monthly_budget = Decimal::from_int(2000);
               s.replica_requests_per_s = 0.5;  // 20 steps a request: serverless 10512 a month
             },
             Mode::kSaas,
             CostKind::kSaas,
             {"budget is tight", "saas: 2102 USD a month"},
             ""},
        Case{"tight_budget_with_adapters_rules_out_saas",
             [](Workload& w, Sizing&) {
               w.monthly_budget = Decimal::from_int(2000);
               w.customization = Customization::kAdapters;
             },
             Mode::kServerless,
             CostKind::kServerless,
             {"SaaS is ruled out: the workload needs adapters"},
             "serverless"},
        Case{"over_budget_everywhere_warns",
             [](Workload& w, Sizing&) { w.monthly_budget = Decimal::from_int(100); },
             Mode::kServerless,
             CostKind::kServerless,
             {"warning: even this choice is over the monthly budget of 100 USD"},
             "serverless"},
        Case{"fine_tuning_hybrid",
             [](Workload& w, Sizing&) { w.customization = Customization::kFineTuning; },
             Mode::kHybrid,
             CostKind::kHybrid,
             {"customization (fine_tuning)", "= 3.0"},
             "hybrid"},
        Case{"default_low_utilisation_serverless",
             [](Workload&, Sizing&) {},
             Mode::kServerless,
             CostKind::kServerless,
             {"no sensitivity, budget or customization constraint",
              "utilisation 8.3 % vs the serverless break-even 41.7 %",
              "billing: serverless at 56765 USD"},
             "serverless"},
        Case{"default_busy_industry_cloud_on_demand",
             [](Workload&, Sizing& s) {
               s.replica_requests_per_s = 0.5;
               s.utilisation = 0.6;
             },
             Mode::kIndustryCloud,
             CostKind::kOnDemand,
             {"utilisation 60 % vs the serverless break-even 41.7 %",
              "billing: cloud_on_demand at 210240 USD",
              "spot would cost 115632 USD but can be preempted"},
             "saas"},
        Case{"medium_sensitivity_mentions_redaction",
             [](Workload& w, Sizing&) { w.sensitivity = Sensitivity::kMedium; },
             Mode::kServerless,
             CostKind::kServerless,
             {"redaction and audit log"},
             "serverless"}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

TEST(DecisionTest, EdgeExplainsTheQuantizationItForces) {
  EdgeFit fit{"edge-8g",
              "bf16",
              "q4_k",
              true,
              {"bf16: 15.00 GiB > 7.36 GiB usable", "q4_k: 5.90 GiB <= 7.36 GiB usable"}};
  const auto reasons = [&] {
    return joined(decide(testing::test_workload(), testing::test_sizing(), Tco{}, fit));
  };
  const Decision d = decide(testing::test_workload(), testing::test_sizing(), Tco{}, fit);
  EXPECT_EQ(d.mode, Mode::kEdge);
  EXPECT_EQ(d.overlay, "");
  EXPECT_NE(
      reasons().find("edge quantization: bf16 does not fit the device and its targets, q4_k is "
                     "the largest format that does"),
      std::string::npos)
      << reasons();
  fit.meets_targets = false;
  EXPECT_NE(reasons().find("no format meets the TTFT/TPOT targets on edge-8g"), std::string::npos);
  fit.fitting_format.reset();
  EXPECT_NE(reasons().find("no format fits"), std::string::npos);
}

}  // namespace
}  // namespace fathom::plan
