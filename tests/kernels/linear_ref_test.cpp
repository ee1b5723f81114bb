// The oracle itself, on weights small enough to compute by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/linear.h"

namespace fathom::kernels {
namespace {

TEST(LinearRef, F32ComputesXTimesWTransposed) {
  const float wv[] = {1, 2, 3,     // W row 0
                      -1, 0, 0.5};  // W row 1
  LinearWeight w;
  w.format = WeightFormat::kF32;
  w.out_features = 2;
  w.in_features = 3;
  w.values = wv;
  const float x[] = {1, 1, 1,  // x row 0
                     2, 0, 4}; // x row 1
  float y[4];
  linear_ref(w, x, 2, y);
  EXPECT_EQ(y[0], 6.0f);
  EXPECT_EQ(y[1], -0.5f);
  EXPECT_EQ(y[2], 14.0f);
  EXPECT_EQ(y[3], 0.0f);
}

TEST(LinearRef, Fp8BlockUsesTheScaleOfEachTile) {
  // e4m3: 0x38 = 1.0, 0x40 = 2.0, 0xb8 = -1.0, 0x01 = 2^-9 (subnormal), 0x7e = 448.
  const uint8_t codes[] = {0x38, 0x40, 0xb8,   // row 0
                           0x01, 0x7e, 0x38};  // row 1
  const float scale_inv[] = {0.5f, 4.0f};      // blocks [1 x 2]: columns {0,1} and {2}
  LinearWeight w;
  w.format = WeightFormat::kFp8Block;
  w.out_features = 2;
  w.in_features = 3;
  w.values = codes;
  w.block_scale_inv = scale_inv;
  w.block_out = 2;
  w.block_in = 2;
  float row[3];
  dequantize_row(w, 0, row);
  EXPECT_EQ(row[0], 0.5f);
  EXPECT_EQ(row[1], 1.0f);
  EXPECT_EQ(row[2], -4.0f);
  dequantize_row(w, 1, row);
  EXPECT_EQ(row[0], std::ldexp(0.5f, -9));
  EXPECT_EQ(row[1], 224.0f);
  EXPECT_EQ(row[2], 4.0f);
}

TEST(LinearRef, Int4GroupedSubtractsZeroThenScales) {
  // One row, 4 inputs, groups of 2. Codes 1, 2 | 15, 0 (low nibble first).
  const uint8_t q4[] = {0x21, 0x0f};
  const float scale[] = {0.5f, 2.0f};
  const uint8_t zero[] = {1, 16};  // 16: a GPTQ v1 stored 0xf plus one
  LinearWeight w;
  w.format = WeightFormat::kInt4Grouped;
  w.out_features = 1;
  w.in_features = 4;
  w.q4 = q4;
  w.group_scale = scale;
  w.group_zero = zero;
  w.group_size = 2;
  w.num_groups = 2;
  float row[4];
  dequantize_row(w, 0, row);
  EXPECT_EQ(row[0], 0.0f);
  EXPECT_EQ(row[1], 0.5f);
  EXPECT_EQ(row[2], -2.0f);
  EXPECT_EQ(row[3], -32.0f);

  // The same codes with the columns stored permuted: stored j is W's column perm[j].
  const int32_t perm[] = {2, 0, 3, 1};
  w.input_perm = perm;
  dequantize_row(w, 0, row);
  EXPECT_EQ(row[2], 0.0f);
  EXPECT_EQ(row[0], 0.5f);
  EXPECT_EQ(row[3], -2.0f);
  EXPECT_EQ(row[1], -32.0f);
  const float x[] = {1, 10, 100, 1000};
  float y;
  linear_ref(w, x, 1, &y);
  EXPECT_EQ(y, 0.5f * 1 - 32.0f * 10 - 2.0f * 1000);
}

TEST(LinearRef, Int4ScatteredGroupIndex) {
  const uint8_t q4[] = {0x33};  // both codes 3
  const float scale[] = {1.0f, 10.0f};
  const uint8_t zero[] = {0, 1};
  const int32_t g_idx[] = {1, 0};
  LinearWeight w;
  w.format = WeightFormat::kInt4Grouped;
  w.out_features = 1;
  w.in_features = 2;
  w.q4 = q4;
  w.group_scale = scale;
  w.group_zero = zero;
  w.group_idx = g_idx;
  w.group_size = 1;
  w.num_groups = 2;
  float row[2];
  dequantize_row(w, 0, row);
  EXPECT_EQ(row[0], 20.0f);
  EXPECT_EQ(row[1], 3.0f);
}

TEST(LinearRef, Int8ChannelAndHalfFormats) {
  const int8_t q8[] = {-128, 127, 2, -3};
  const float cs[] = {0.5f, 0.25f};
  LinearWeight w;
  w.format = WeightFormat::kInt8Channel;
  w.out_features = 2;
  w.in_features = 2;
  w.q8 = q8;
  w.channel_scale = cs;
  const float x[] = {1, 2};
  float y[2];
  linear_ref(w, x, 1, y);
  EXPECT_EQ(y[0], -64.0f + 127.0f);
  EXPECT_EQ(y[1], 0.5f - 1.5f);

  const uint16_t bf[] = {0x3f80, 0xc000};   // 1, -2
  const uint16_t hf[] = {0x3c00, 0x0001};   // 1, 2^-24
  LinearWeight b;
  b.format = WeightFormat::kBF16;
  b.out_features = 1;
  b.in_features = 2;
  b.values = bf;
  linear_ref(b, x, 1, y);
  EXPECT_EQ(y[0], -3.0f);
  b.format = WeightFormat::kF16;
  b.values = hf;
  float row[2];
  dequantize_row(b, 0, row);
  EXPECT_EQ(row[0], 1.0f);
  EXPECT_EQ(row[1], std::ldexp(1.0f, -24));
}

TEST(LinearWeight, SizeBytesCountsCodesAndScales) {
  LinearWeight w;
  w.format = WeightFormat::kInt4Grouped;
  w.out_features = 8;
  w.in_features = 64;
  w.num_groups = 2;
  EXPECT_EQ(w.size_bytes(), 8 * 32 + 8 * 2 * 5);
  w.format = WeightFormat::kFp8Block;
  w.block_out = 4;
  w.block_in = 128;
  EXPECT_EQ(w.size_bytes(), 8 * 64 + 2 * 1 * 4);
  w.format = WeightFormat::kBF16;
  EXPECT_EQ(w.size_bytes(), 8 * 64 * 2);
  EXPECT_STREQ(weight_format_name(WeightFormat::kInt8Channel), "int8_channel");
}

}  // namespace
}  // namespace fathom::kernels
