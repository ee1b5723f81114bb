// The int4 panel copy (kernels/int4_panel.h) and its AVX-512 VNNI kernel for a few rows
// (cpu/linear_int4_panel_avx512vnni.cpp): every code, scale and zero where the layout says, zero
// padding past the last output; the kernel against linear_ref_reduced, its oracle, for 1 to
// kInt4PanelMaxRows rows, group sizes 32, 64, 128 and whole rows, out_features around the
// 16-output tiles and 128-output groups, in_features with a partial last block and columns
// past the quantized span; linear_cpu reads the copy for those rows only; a NaN in x falls back
// to the float kernels. The kernel's tests skip where the CPU lacks AVX-512 VNNI.
#include "kernels/int4_panel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_int_gemm.h"
#include "kernels/linear.h"
#include "kernels/linear_test_weights.h"
#include "kernels/quantize_activations.h"

namespace fathom::kernels {
namespace {

using testing::magnitude;
using testing::WeightSpec;

LinearWeight int4_weight(int64_t out, int64_t in, int32_t group_size, uint32_t seed) {
  return testing::make_weight({.format = WeightFormat::kInt4Grouped,
                               .out = out,
                               .in = in,
                               .group_size = group_size,
                               .seed = seed});
}

int stored_code(const LinearWeight& w, int64_t o, int64_t j) {
  const uint8_t byte = w.q4[o * ((w.in_features + 1) / 2) + j / 2];
  return j % 2 ? byte >> 4 : byte & 0xf;
}

TEST(Int4PanelTest, HoldsEveryCodeScaleAndZeroWhereTheLayoutSays) {
  for (const auto& [out, in, gs] : {std::tuple<int64_t, int64_t, int32_t>{1, 32, 32},
                                    {15, 96, 32},
                                    {17, 300, 64},
                                    {128, 256, 128},
                                    {129, 1000, 128},
                                    {300, 640, -1}}) {
    const LinearWeight w = int4_weight(out, in, gs, static_cast<uint32_t>(out + in));
    ASSERT_TRUE(int4_panel_applies(w));
    const auto p = pack_int4_panel(w);
    const std::string at = std::to_string(out) + " x " + std::to_string(in);
    ASSERT_EQ(p->words, activation_blocks(w).span / 8) << at;
    ASSERT_EQ(p->tiles % kInt4PanelTileGroup, 0) << at;
    ASSERT_GE(p->tiles * kInt4PanelOut, out) << at;
    ASSERT_LT((p->tiles - kInt4PanelTileGroup) * kInt4PanelOut, out) << at;
    ASSERT_EQ(p->size_bytes(), int4_panel_bytes(w)) << at;
    for (int64_t o = 0; o < p->tiles * kInt4PanelOut; ++o) {
      for (int64_t j = 0; j < p->words * 8; ++j)
        ASSERT_EQ(int4_panel_code(*p, o, j), o < out ? stored_code(w, o, j) : 0)
            << at << " [" << o << ", " << j << "]";
      const int64_t t = o / kInt4PanelOut, lane = o % kInt4PanelOut;
      for (int64_t g = 0; g < w.num_groups; ++g) {
        const int64_t k = (t * p->groups + g) * kInt4PanelOut + lane;
        ASSERT_EQ(p->scale[k], o < out ? w.group_scale[o * w.num_groups + g] : 0.0f) << at;
        ASSERT_EQ(p->zero[k], o < out ? w.group_zero[o * w.num_groups + g] : 0) << at;
      }
    }
  }
}

TEST(Int4PanelTest, AppliesOnlyToInt4WeightsTheIntegerKernelsRead) {
  EXPECT_TRUE(int4_panel_applies(int4_weight(8, 64, 32, 1)));
  EXPECT_FALSE(int4_panel_applies(
      testing::make_weight({.format = WeightFormat::kInt8Channel, .out = 8, .in = 64, .seed = 2})));
  EXPECT_FALSE(int4_panel_applies(testing::make_weight({.format = WeightFormat::kInt4Grouped,
                                                        .out = 8,
                                                        .in = 64,
                                                        .group_size = 32,
                                                        .groups = WeightSpec::Groups::kPermuted,
                                                        .seed = 3})));
}

bool have_vnni512() { return cpu::isa_available(cpu::Isa::kAvx512Vnni); }

// got within 1e-5 of the reference's magnitude everywhere.
void expect_near_reduced_reference(const LinearWeight& w, const std::vector<float>& x, int64_t rows,
                                   const std::vector<float>& got, const std::string& what) {
  std::vector<float> want(got.size());
  linear_ref_reduced(w, x.data(), rows, want.data());
  const std::vector<double> mag = magnitude(w, x, rows);
  for (size_t k = 0; k < got.size(); ++k)
    ASSERT_LE(std::fabs(double{got[k]} - want[k]), 1e-5 * mag[k] + 1e-30)
        << what << " y[" << k / w.out_features << ", " << k % w.out_features << "] = " << got[k]
        << " reference " << want[k];
}

TEST(Int4PanelKernel, MatchesReducedReference) {
  if (!have_vnni512()) GTEST_SKIP() << "no AVX-512 VNNI";
  ThreadPool pool(3);
  uint32_t seed = 40;
  for (const auto& [out, in] : {std::pair<int64_t, int64_t>{1, 32},
                                {7, 96},
                                {16, 128},
                                {50, 256},
                                {129, 300},
                                {200, 1000},
                                {257, 544}})
    for (int32_t gs : {32, 64, 128, -1}) {
      if (gs > 0 ? in < gs : in % 32 != 0) continue;  // whole-row groups: a multiple of 32
      const LinearWeight w = int4_weight(out, in, gs, seed++);
      ASSERT_TRUE(int4_panel_applies(w));
      const auto p = pack_int4_panel(w);
      for (int64_t rows = 1; rows <= kInt4PanelMaxRows; ++rows) {
        const std::vector<float> x = testing::random_input(rows, in, seed++);
        std::vector<float> got(static_cast<size_t>(rows * out), std::nanf(""));
        ASSERT_TRUE(cpu::int4_panel_avx512vnni(w, *p, x.data(), rows, got.data(), pool));
        expect_near_reduced_reference(w, x, rows, got,
                                      std::to_string(out) + "x" + std::to_string(in) + " gs " +
                                          std::to_string(gs) + " rows " + std::to_string(rows));
      }
    }
}

// A weight whose slot holds the copy of another weight of the same shape: linear_cpu reads the
// copy for up to kInt4PanelMaxRows rows with kReduced activations (on kAuto and kInt), the
// weight as stored otherwise.
TEST(Int4PanelKernel, LinearReadsTheCopyForAFewReducedRowsOnly) {
  if (!have_vnni512()) GTEST_SKIP() << "no AVX-512 VNNI";
  const int64_t out = 40, in = 256;
  LinearWeight w = int4_weight(out, in, 128, 5);
  const LinearWeight other = int4_weight(out, in, 128, 6);
  w.int4_panel = std::make_shared<Int4PanelSlot>();
  w.int4_panel->set(pack_int4_panel(other));
  ThreadPool pool(2);
  const auto run = [&](int64_t rows, cpu::LinearPath path, ActivationPrecision act) {
    const std::vector<float> x = testing::random_input(rows, in, static_cast<uint32_t>(rows));
    std::vector<float> got(static_cast<size_t>(rows * out));
    cpu::linear_cpu_isa(w, x.data(), rows, got.data(), pool, cpu::Isa::kAvx512Vnni, path, act);
    return std::pair{x, got};
  };
  const ActivationPrecision reduced = ActivationPrecision::kReduced;
  for (int64_t rows : {int64_t{1}, kInt4PanelMaxRows})
    for (cpu::LinearPath path : {cpu::LinearPath::kAuto, cpu::LinearPath::kInt}) {
      const auto [x, got] = run(rows, path, reduced);
      expect_near_reduced_reference(other, x, rows, got, "the copy, rows " + std::to_string(rows));
    }
  const auto [x8, got8] = run(kInt4PanelMaxRows + 1, cpu::LinearPath::kAuto, reduced);
  expect_near_reduced_reference(w, x8, kInt4PanelMaxRows + 1, got8, "as stored, 8 rows");
  const auto [xe, gote] = run(1, cpu::LinearPath::kAuto, ActivationPrecision::kExact);
  std::vector<float> want(static_cast<size_t>(out));
  linear_ref(w, xe.data(), 1, want.data());
  const std::vector<double> mag = magnitude(w, xe, 1);
  for (int64_t k = 0; k < out; ++k) EXPECT_LE(std::fabs(double{gote[k]} - want[k]), 1e-5 * mag[k]);
}

TEST(Int4PanelKernel, NonFiniteInputFallsBackToTheFloatPath) {
  if (!have_vnni512()) GTEST_SKIP() << "no AVX-512 VNNI";
  LinearWeight w = int4_weight(20, 96, 32, 4);
  w.int4_panel = std::make_shared<Int4PanelSlot>();
  w.int4_panel->set(pack_int4_panel(w));
  std::vector<float> x = testing::random_input(3, 96, 5);
  x[1 * 96 + 50] = std::nanf("");
  ThreadPool pool(2);
  std::vector<float> untouched(60, 7.0f);
  EXPECT_FALSE(
      cpu::int4_panel_avx512vnni(w, *w.int4_panel->get(), x.data(), 3, untouched.data(), pool));
  for (float v : untouched) ASSERT_EQ(v, 7.0f);  // nothing written
  std::vector<float> want(60), got(60);
  linear_ref(w, x.data(), 3, want.data());
  cpu::linear_cpu_isa(w, x.data(), 3, got.data(), pool, cpu::Isa::kAvx512Vnni,
                      cpu::LinearPath::kAuto, ActivationPrecision::kReduced);
  const std::vector<double> mag = magnitude(w, x, 3);
  for (int64_t k = 0; k < 60; ++k) {
    if (k / 20 == 1) {
      EXPECT_TRUE(std::isnan(got[k])) << k;
      continue;
    }
    EXPECT_LE(std::fabs(double{got[k]} - want[k]), 1e-5 * mag[k]) << k;  // fp32, not int8 codes
  }
}

}  // namespace
}  // namespace fathom::kernels
