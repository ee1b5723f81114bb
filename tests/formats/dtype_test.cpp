// Element conversions of tensor/dtype.h: f16 -> f32 against the format's definition for every
// one of the 65536 halves, and back.
#include "tensor/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace fathom {
namespace {

TEST(DtypeTest, EveryHalfConvertsExactlyAndRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    const float got = f16_to_f32(static_cast<uint16_t>(h));
    if (exp == 0x1f && man != 0) {
      EXPECT_TRUE(std::isnan(got)) << std::hex << h;
      continue;
    }
    // The definition, in double: (-1)^s 2^(e-15) (1 + m/1024), or 2^-14 m/1024 for e = 0.
    double want = exp == 0x1f ? INFINITY
                  : exp == 0  ? std::ldexp(static_cast<double>(man), -24)
                              : std::ldexp(1024.0 + man, static_cast<int>(exp) - 25);
    if (h & 0x8000) want = -want;
    ASSERT_EQ(static_cast<double>(got), want) << std::hex << h;
    ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << h;  // -0 stays -0
    ASSERT_EQ(f32_to_f16(got), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace fathom
