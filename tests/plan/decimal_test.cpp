#include "plan/decimal.h"

#include <gtest/gtest.h>

namespace fathom::plan {
namespace {

Decimal d(const char* s) { return *Decimal::parse(s, "x"); }

TEST(DecimalTest, ParsesExactlyAndPrints) {
  EXPECT_EQ(d("0.1").nanos(), 100'000'000);
  EXPECT_EQ(d("-12.000000001").nanos(), -12'000'000'001);
  EXPECT_EQ(d("7.12").exact_string(), "7.12");
  EXPECT_EQ(d("100").to_string(2), "100.00");
  EXPECT_EQ(d("0.001097").exact_string(), "0.001097");
}

TEST(DecimalTest, RejectsWhatIsNotADecimalNamingTheField) {
  for (const char* bad : {"", "1e5", "1,000", "0.", ".5", "1.0000000001", "abc", "--1", "12 "}) {
    Result<Decimal> r = Decimal::parse(bad, "site.pue");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("site.pue"), std::string::npos);
  }
}

TEST(DecimalTest, RoundsHalfAwayFromZeroOnce) {
  EXPECT_EQ(d("0.005").to_string(2), "0.01");
  EXPECT_EQ(d("-0.005").to_string(2), "-0.01");
  EXPECT_EQ(d("0.004999999").to_string(2), "0.00");
  EXPECT_EQ(d("1").divided_by(3).exact_string(), "0.333333333");
  EXPECT_EQ(d("2").divided_by(3).exact_string(), "0.666666667");
  // 0.000000001 x 0.5 = 0.0000000005 -> rounds up to one nano.
  EXPECT_EQ(d("0.000000001").times(d("0.5")).nanos(), 1);
  EXPECT_EQ(d("2.99").scaled(8760, 12).exact_string(), "2182.7");
}

TEST(DecimalTest, SumsOfManySmallAmountsStayExact) {
  Decimal sum;
  for (int i = 0; i < 1'000'000; ++i) sum += d("0.000001");  // a millionth, a million times
  EXPECT_EQ(sum, d("1"));
}

}  // namespace
}  // namespace fathom::plan
