// The panel copy of bf16 weights (kernels/bf16_panel.h): every value where the layout says,
// zero padding past the last output and the last odd column, for shapes around the tile width.
#include "kernels/bf16_panel.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace fathom::kernels {
namespace {

TEST(Bf16PanelTest, HoldsEveryValueWhereTheLayoutSays) {
  std::mt19937 rng(7);
  for (const auto& [out, in] :
       {std::pair<int64_t, int64_t>{1, 1}, {47, 3}, {48, 64}, {49, 129}, {97, 2}, {200, 515}}) {
    std::vector<uint16_t> v(static_cast<size_t>(out * in));
    for (uint16_t& e : v) e = static_cast<uint16_t>(rng() | 1);  // no zero: padding stands out
    const auto p = pack_bf16_panel(v.data(), out, in);
    ASSERT_EQ(p->tiles(), (out + 47) / 48);
    ASSERT_EQ(p->size_bytes(), p->tiles() * 48 * ((in + 1) / 2) * 4);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t j = 0; j < in; ++j)
        ASSERT_EQ(bf16_panel_value(*p, o, j), v[static_cast<size_t>(o * in + j)])
            << out << " x " << in << " [" << o << ", " << j << "]";
    // Raw words: (tile, pair, lane) = W[48 tile + lane][2 pair] | W[..][2 pair + 1] << 16.
    const int64_t np = p->pairs();
    for (int64_t t = 0; t < p->tiles(); ++t)
      for (int64_t q = 0; q < np; ++q)
        for (int64_t lane = 0; lane < kBf16PanelOut; ++lane) {
          const int64_t o = t * kBf16PanelOut + lane;
          const uint32_t word = p->tile(t)[q * kBf16PanelOut + lane];
          const uint32_t lo = o < out ? v[static_cast<size_t>(o * in + 2 * q)] : 0;
          const uint32_t hi =
              o < out && 2 * q + 1 < in ? v[static_cast<size_t>(o * in + 2 * q + 1)] : 0;
          ASSERT_EQ(word, lo | hi << 16)
              << out << " x " << in << " tile " << t << " pair " << q << " lane " << lane;
        }
  }
}

TEST(Bf16PanelTest, SlotPublishesOnce) {
  Bf16PanelSlot slot;
  EXPECT_EQ(slot.get(), nullptr);
  const std::vector<uint16_t> v(96, 0x3f80);
  slot.set(pack_bf16_panel(v.data(), 2, 48));
  ASSERT_NE(slot.get(), nullptr);
  EXPECT_EQ(slot.get()->out_features, 2);
  EXPECT_EQ(bf16_panel_value(*slot.get(), 1, 47), 0x3f80);
}

}  // namespace
}  // namespace fathom::kernels
