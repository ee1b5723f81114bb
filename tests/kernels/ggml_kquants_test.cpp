// llama.cpp's k-quant searches (kernels/ggml_kquants.h): on random and heavy-tailed rows their
// reconstruction error is no worse than round to nearest, an importance vector lowers the
// importance-weighted error, the blocks decode with the format's dequantizer, and Q8_0 (and
// every type without a search) is the round-to-nearest encoder byte for byte.
#include "kernels/ggml_kquants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ggml_blocks.h"

namespace fathom::kernels {
namespace {

constexpr int64_t kRows = 48, kCols = 1024;

std::vector<float> normal_rows(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.02f);
  std::vector<float> x(kRows * kCols);
  for (float& v : x) v = n(rng);
  return x;
}

// Student-t with 2 degrees of freedom: occasional values tens of sigma out, as in real weights.
std::vector<float> heavy_rows(uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t(2.0f);
  std::vector<float> x(kRows * kCols);
  for (float& v : x) v = 0.01f * t(rng);
  return x;
}

// A column importance spanning three orders of magnitude (a few hot channels).
std::vector<float> importance(uint32_t seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> l(0.0f, 1.5f);
  std::vector<float> imp(kCols);
  for (float& v : imp) v = l(rng);
  return imp;
}

std::vector<float> roundtrip(GgmlType t, const std::vector<float>& x, const float* imp,
                             bool search) {
  std::vector<uint8_t> b(static_cast<size_t>(kRows * ggml_row_bytes(t, kCols)));
  if (search)
    ggml_quantize_rows(t, x.data(), kRows, kCols, imp, b.data());
  else
    ggml_quantize(t, x.data(), kRows * kCols, b.data());
  std::vector<float> y(x.size());
  ggml_dequantize(t, b.data(), kRows * kCols, y.data());
  return y;
}

// sum_j w_j (x_j - y_j)^2 over every row (w = 1 when null).
double weighted_error(const std::vector<float>& x, const std::vector<float>& y, const float* w) {
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    e += (w ? w[i % kCols] : 1.0) * d * d;
  }
  return e;
}

double energy(const std::vector<float>& x) {
  double e = 0;
  for (float v : x) e += static_cast<double>(v) * v;
  return e;
}

constexpr GgmlType kSearched[] = {GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

TEST(GgmlKQuantsTest, SearchIsNoWorseThanRoundToNearest) {
  for (GgmlType t : kSearched) {
    for (const auto& [name, x] : {std::pair{"normal", normal_rows(1)}, {"heavy", heavy_rows(2)}}) {
      const double rtn = weighted_error(x, roundtrip(t, x, nullptr, false), nullptr);
      const double search = weighted_error(x, roundtrip(t, x, nullptr, true), nullptr);
      std::printf("%-5s %-6s relative error rtn %.3e search %.3e\n", ggml_type_name(t), name,
                  rtn / energy(x), search / energy(x));
      EXPECT_LE(search, rtn) << ggml_type_name(t) << " " << name;
      // Decoded with the format's dequantizer the blocks are a faithful copy.
      EXPECT_LT(search / energy(x), t == GgmlType::kQ4_K ? 0.02 : 0.006)
          << ggml_type_name(t) << " " << name;
    }
  }
}

TEST(GgmlKQuantsTest, ImportanceLowersTheWeightedError) {
  const std::vector<float> imp = importance(3);
  for (GgmlType t : kSearched) {
    for (const auto& [name, x] : {std::pair{"normal", normal_rows(4)}, {"heavy", heavy_rows(5)}}) {
      const double plain = weighted_error(x, roundtrip(t, x, nullptr, true), imp.data());
      const double weighted = weighted_error(x, roundtrip(t, x, imp.data(), true), imp.data());
      std::printf("%-5s %-6s imp-weighted error without %.3e with %.3e\n", ggml_type_name(t), name,
                  plain, weighted);
      EXPECT_LT(weighted, plain) << ggml_type_name(t) << " " << name;
    }
  }
}

TEST(GgmlKQuantsTest, OtherTypesAreRoundToNearest) {
  const std::vector<float> x = heavy_rows(6);
  const std::vector<float> imp = importance(7);
  for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kF16}) {
    std::vector<uint8_t> a(static_cast<size_t>(kRows * ggml_row_bytes(t, kCols))), b(a.size());
    ggml_quantize(t, x.data(), kRows * kCols, a.data());
    ggml_quantize_rows(t, x.data(), kRows, kCols, imp.data(), b.data());
    EXPECT_EQ(a, b) << ggml_type_name(t);
  }
}

TEST(GgmlKQuantsTest, ZeroAndConstantBlocks) {
  std::vector<float> x(kRows * kCols, 0.0f);
  for (int64_t i = kCols; i < 2 * kCols; ++i) x[i] = 0.5f;  // row 1 constant
  for (GgmlType t : kSearched) {
    const std::vector<float> y = roundtrip(t, x, nullptr, true);
    for (int64_t i = 0; i < kCols; ++i) ASSERT_EQ(y[i], 0.0f) << ggml_type_name(t);
    for (int64_t i = kCols; i < 2 * kCols; ++i)
      ASSERT_NEAR(y[i], 0.5f, 0.01f) << ggml_type_name(t) << " " << i;
  }
}

}  // namespace
}  // namespace fathom::kernels
