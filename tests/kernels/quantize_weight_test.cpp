// Load-time quantization (--quantization): each format's round-to-nearest error stays within
// half a quantization step of the original weight, codes are the nearest ones, and the fast
// kernels run the result exactly as the reference does.
#include "kernels/quantize_weight.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/linear.h"
#include "linear_test_weights.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

using testing::make_weight;
using testing::WeightSpec;

std::vector<float> dense(const LinearWeight& w) {
  std::vector<float> d(static_cast<size_t>(w.out_features * w.in_features));
  for (int64_t r = 0; r < w.out_features; ++r) dequantize_row(w, r, d.data() + r * w.in_features);
  return d;
}

struct Shape {
  int64_t out, in;
};
const Shape kShapes[] = {{1, 1}, {3, 7}, {17, 130}, {64, 256}, {130, 300}};

TEST(QuantizeWeight, Int8IsWithinHalfAStepPerChannel) {
  ThreadPool pool(2);
  for (const Shape& s : kShapes) {
    const LinearWeight w = make_weight({WeightFormat::kBF16, s.out, s.in});
    const LinearWeight q = quantize_weight(w, QuantTarget::kInt8Channel, pool);
    ASSERT_EQ(q.format, WeightFormat::kInt8Channel);
    const auto a = dense(w), b = dense(q);
    for (int64_t r = 0; r < s.out; ++r) {
      float amax = 0;
      for (int64_t i = 0; i < s.in; ++i) amax = std::max(amax, std::fabs(a[r * s.in + i]));
      EXPECT_FLOAT_EQ(q.channel_scale[r], amax / 127.0f);
      for (int64_t i = 0; i < s.in; ++i)
        ASSERT_LE(std::fabs(a[r * s.in + i] - b[r * s.in + i]), q.channel_scale[r] * 0.5f * 1.0001f)
            << s.out << "x" << s.in << " at " << r << "," << i;
    }
  }
}

TEST(QuantizeWeight, Int4IsWithinHalfAStepPerGroupAndKeepsZeroExact) {
  ThreadPool pool(2);
  for (const Shape& s : kShapes) {
    LinearWeight w = make_weight({WeightFormat::kF32, s.out, s.in});
    float* v = const_cast<float*>(static_cast<const float*>(w.values));
    v[0] = 0.0f;  // an exact zero stays exactly zero
    const LinearWeight q = quantize_weight(w, QuantTarget::kInt4Grouped, pool);
    ASSERT_EQ(q.format, WeightFormat::kInt4Grouped);
    EXPECT_EQ(q.group_size, kInt4GroupSize);
    EXPECT_EQ(q.num_groups, (s.in + kInt4GroupSize - 1) / kInt4GroupSize);
    const auto a = dense(w), b = dense(q);
    EXPECT_EQ(b[0], 0.0f);
    for (int64_t r = 0; r < s.out; ++r)
      for (int64_t i = 0; i < s.in; ++i) {
        const float step = q.group_scale[r * q.num_groups + i / kInt4GroupSize];
        ASSERT_LE(std::fabs(a[r * s.in + i] - b[r * s.in + i]), step * 0.5f * 1.0001f)
            << s.out << "x" << s.in << " at " << r << "," << i;
      }
  }
}

TEST(QuantizeWeight, Fp8PicksTheNearestCodePerBlock) {
  ThreadPool pool(2);
  for (const Shape& s : kShapes) {
    const LinearWeight w = make_weight({WeightFormat::kBF16, s.out, s.in});
    const LinearWeight q = quantize_weight(w, QuantTarget::kFp8Block, pool);
    ASSERT_EQ(q.format, WeightFormat::kFp8Block);
    const auto a = dense(w), b = dense(q);
    const int64_t nbi = (s.in + kFp8Block - 1) / kFp8Block;
    for (int64_t r = 0; r < s.out; ++r)
      for (int64_t i = 0; i < s.in; ++i) {
        const float scale = q.block_scale_inv[(r / kFp8Block) * nbi + i / kFp8Block];
        const float x = a[r * s.in + i] / scale;
        // No other code is nearer to x than the chosen one.
        const float chosen = std::fabs(b[r * s.in + i] / scale - x);
        for (int c = 0; c < 256; ++c) {
          const float v = e4m3_to_f32(static_cast<uint8_t>(c));
          if (!std::isnan(v)) {
            ASSERT_LE(chosen, std::fabs(v - x) * 1.0001f + 1e-30f) << "code " << c;
          }
        }
      }
  }
}

TEST(QuantizeWeight, E4m3RoundsToNearestEvenAndSaturates) {
  for (int c = 0; c < 256; ++c) {
    const float v = e4m3_to_f32(static_cast<uint8_t>(c));
    if (std::isnan(v)) continue;
    EXPECT_EQ(e4m3_to_f32(f32_to_e4m3(v)), v) << c;  // every value maps to itself
  }
  EXPECT_EQ(f32_to_e4m3(1e9f), 0x7e);  // 448
  EXPECT_EQ(f32_to_e4m3(-1e9f), 0xfe);
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);  // halfway between 1 (0x38, even) and 1.125 (0x39)
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);  // halfway between 1.125 (odd) and 1.25 (0x3a, even)
  EXPECT_TRUE(std::isnan(e4m3_to_f32(f32_to_e4m3(std::nanf("")))));
}

TEST(QuantizeWeight, FastKernelsMatchTheReferenceOnQuantizedWeights) {
  ThreadPool pool(2);
  for (QuantTarget t :
       {QuantTarget::kInt8Channel, QuantTarget::kInt4Grouped, QuantTarget::kFp8Block})
    for (const Shape& s : kShapes)
      for (int64_t rows : {1, 5, 9, 40}) {
        const LinearWeight q =
            quantize_weight(make_weight({WeightFormat::kBF16, s.out, s.in}), t, pool);
        const LinearWeight x = make_weight({WeightFormat::kF32, rows, s.in, 16, 16, 32, {}, 7});
        const float* xv = static_cast<const float*>(x.values);
        std::vector<float> want(static_cast<size_t>(rows * s.out)), got(want.size());
        linear_ref(q, xv, rows, want.data());
        linear_cpu(q, xv, rows, got.data(), pool);
        for (size_t k = 0; k < want.size(); ++k)
          ASSERT_NEAR(got[k], want[k], 1e-4f * (1.0f + std::fabs(want[k])))
              << quant_target_name(t) << " " << s.out << "x" << s.in << " rows " << rows;
      }
}

}  // namespace
}  // namespace fathom::kernels
