#include <gtest/gtest.h>

#include "server/serve_bench.h"
#include "server/text_markers.h"

namespace fathom::server {
namespace {

TEST(TextMarkersTest, PartialSuffix) {
  EXPECT_EQ(partial_marker_suffix("abc</th", "</think>"), 4u);
  EXPECT_EQ(partial_marker_suffix("abc", "</think>"), 0u);
  EXPECT_EQ(partial_marker_suffix("abc</think>", "</think>"), 0u);  // complete: not partial
  EXPECT_EQ(partial_marker_suffix("aa", std::vector<std::string>{"ab", "aab"}), 2u);
}

TEST(ServeBenchTest, PercentileInterpolates) {
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0.0);
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 50), 2.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 100), 4.0);
  EXPECT_DOUBLE_EQ(percentile({10}, 99), 10.0);
}

}  // namespace
}  // namespace fathom::server
