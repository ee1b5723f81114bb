// Three-year costs against totals computed by hand (the arithmetic is in each comment).
#include "plan/tco.h"

#include <gtest/gtest.h>

#include "plan/plan_test_support.h"

namespace fathom::plan {
namespace {

using testing::test_catalogue;
using testing::test_sizing;
using testing::test_workload;

class TcoTest : public ::testing::Test {
 protected:
  Catalogue cat_ = test_catalogue();
  Workload w_ = test_workload();
  Sizing s_ = test_sizing();
  Tco tco() {
    return compute_tco(cat_, w_, *cat_.device("gpu-a"), s_, cat_.offer("deepseek-chat"));
  }
};

TEST_F(TcoTest, UsageCountsAreIntegers) {
  const UsageCounts u = tco().usage;
  EXPECT_EQ(u.requests_per_month, 2'628'000);  // 1/s x 3600 x 730
  EXPECT_EQ(u.input_tokens_per_month, 2'628'000'000);
  EXPECT_EQ(u.cached_input_tokens_per_month, 657'000'000);
  EXPECT_EQ(u.output_tokens_per_month, 525'600'000);
  EXPECT_EQ(u.device_hours_per_year, 35'040);    // (12 x 1 + 12 x 3) replicas x 2 devices x 365
  EXPECT_EQ(u.serverless_steps_per_request, 3);  // 0.25 s per request -> 3 x 100 ms
}

TEST_F(TcoTest, OwnedHardware) {
  const Tco t = tco();
  const CostOption& o = t.option(CostKind::kOwned);
  ASSERT_TRUE(o.available);
  EXPECT_EQ(o.capex.to_string(), "160000.00");           // 6 GPUs x 20000 + 1 server x 40000
  EXPECT_EQ(o.lines[1].monthly.to_string(), "438.00");   // 4000 W x 730 h x 1.5 / 1000 x 0.10
  EXPECT_EQ(o.lines[2].monthly.to_string(), "1000.00");  // 1 rack
  EXPECT_EQ(o.lines[3].monthly.to_string(), "1000.00");  // 1 server x 0.1 FTE x 10000
  EXPECT_EQ(o.lines[4].monthly.to_string(), "1600.00");  // 160000 x 12 % / 12
  EXPECT_EQ(o.monthly.to_string(), "4038.00");
  EXPECT_EQ(o.total.to_string(), "305368.00");  // 160000 + 36 x 4038
  EXPECT_EQ(o.cumulative.front().to_string(), "164038.00");
  EXPECT_EQ(o.cumulative.back(), o.total);
}

TEST_F(TcoTest, CloudOptions) {
  const Tco t = tco();
  EXPECT_EQ(t.option(CostKind::kOnDemand).monthly.to_string(), "5840.00");  // 35040 h x 2.00 / 12
  EXPECT_EQ(t.option(CostKind::kOnDemand).total.to_string(), "210240.00");
  EXPECT_EQ(t.option(CostKind::kReserved).monthly.to_string(),
            "6570.00");  // 3 x 2 x 8760 h x 1.50 / 12
  EXPECT_EQ(t.option(CostKind::kReserved).total.to_string(), "236520.00");
  EXPECT_EQ(t.option(CostKind::kSpot).monthly.to_string(), "3212.00");  // 35040 x 1.00 / 12 + 10 %
  EXPECT_EQ(t.option(CostKind::kSpot).total.to_string(), "115632.00");
  // 2,628,000 requests x 3 steps x 2 devices x 0.1 s x 0.001/s.
  EXPECT_EQ(t.option(CostKind::kServerless).monthly.to_string(), "1576.80");
  EXPECT_EQ(t.option(CostKind::kServerless).total.to_string(), "56764.80");
  ASSERT_TRUE(t.serverless_breakeven_utilisation);
  EXPECT_NEAR(*t.serverless_breakeven_utilisation, 1.5 / 3.6, 1e-12);
}

TEST_F(TcoTest, SaasPerToken) {
  const Tco t = tco();
  const CostOption& o = t.option(CostKind::kSaas);
  // 1,971,000,000 x 0.5 + 657,000,000 x 0.1 + 525,600,000 x 2.0, per million.
  EXPECT_EQ(o.lines[0].monthly.to_string(), "985.50");
  EXPECT_EQ(o.lines[1].monthly.to_string(), "65.70");
  EXPECT_EQ(o.lines[2].monthly.to_string(), "1051.20");
  EXPECT_EQ(o.total.to_string(), "75686.40");
}

TEST_F(TcoTest, HybridOwnsTheBaseAndRentsBursts) {
  const Tco t = tco();
  const CostOption& o = t.option(CostKind::kHybrid);
  ASSERT_TRUE(o.available) << o.note;
  EXPECT_EQ(o.capex.to_string(), "80000.00");  // 2 GPUs + 1 server
  // power 2000 W -> 219, rack 1000, staff 1000, maintenance 800, bursts 12 h x 2 replicas x 2
  // devices x 365 = 17520 h x 2.00 / 12 = 2920.
  EXPECT_EQ(o.monthly.to_string(), "5939.00");
  EXPECT_EQ(o.total.to_string(), "293804.00");
}

TEST_F(TcoTest, SensitiveShareRaisesTheOwnedBase) {
  w_.sensitive_share = 1.0;
  EXPECT_FALSE(tco().option(CostKind::kHybrid).available);
}

TEST_F(TcoTest, CnyConvertsThroughTheCatalogueRate) {
  w_.currency = Currency::kCny;
  EXPECT_EQ(tco().option(CostKind::kOnDemand).monthly.to_string(), "40880.00");  // 5840 x 7
}

TEST_F(TcoTest, BreakEvenMonths) {
  // Owned: 160000 + 4038 m; on-demand 5840 m: equal after 88.8 months.
  EXPECT_FALSE(tco().breakeven_month(CostKind::kOnDemand));
  w_.months = 120;
  EXPECT_EQ(tco().breakeven_month(CostKind::kOnDemand), 89);
  EXPECT_EQ(tco().breakeven_month(CostKind::kReserved), 64);  // 160000 / (6570 - 4038) = 63.2
  EXPECT_FALSE(tco().breakeven_month(CostKind::kServerless));
}

TEST_F(TcoTest, MissingPricesMakeOptionsUnavailableWithAReason) {
  const Device& edge = *cat_.device("edge-8g");
  const Tco t = compute_tco(cat_, w_, edge, s_, nullptr);
  EXPECT_TRUE(t.option(CostKind::kOwned).available);
  EXPECT_FALSE(t.option(CostKind::kOnDemand).available);
  EXPECT_NE(t.option(CostKind::kOnDemand).note.find("no on-demand price"), std::string::npos);
  EXPECT_FALSE(t.option(CostKind::kSaas).available);
  EXPECT_EQ(t.cheapest()->kind, CostKind::kOwned);
}

}  // namespace
}  // namespace fathom::plan
