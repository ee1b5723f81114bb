#include "base/time_format.h"

#include <gtest/gtest.h>

namespace fathom {
namespace {

TEST(TimeFormatTest, ParsesWhatItFormats) {
  const auto t =
      std::chrono::system_clock::from_time_t(1'780'000'000) + std::chrono::milliseconds(123);
  const std::string text = format_rfc3339_ms(t);
  EXPECT_EQ(text, "2026-05-28T20:26:40.123Z");
  std::chrono::system_clock::time_point back;
  ASSERT_TRUE(parse_rfc3339(text, back));
  EXPECT_EQ(back, t);
  ASSERT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z", back));
  EXPECT_EQ(format_rfc3339_ms(back), "2024-02-29T00:00:00.000Z");
}

TEST(TimeFormatTest, RefusesOtherShapes) {
  std::chrono::system_clock::time_point t;
  for (const char* bad :
       {"", "2026-12-05", "2026-12-05T18:53:00", "2026-12-05T18:53:00+08:00",
        "2026-13-05T18:53:00Z", "2026-12-05T18:53:00.12Z", "2026-12-05T18:53:00.123Zjunk"})
    EXPECT_FALSE(parse_rfc3339(bad, t)) << bad;
}

}  // namespace
}  // namespace fathom
