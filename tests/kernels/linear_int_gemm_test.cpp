// The integer GEMMs (LinearPath::kIntGemm, kernels/cpu/linear_int_gemm.h: AVX-512 VNNI, and
// AVX2's vpmaddubsw for kAvx2 and kAvxVnni) against linear_ref_reduced, their oracle: int8 and
// int4 weights (group sizes 32, 64, 128 and whole rows, act-order input_perm), out_features
// that are not a multiple of the 3-, 6- or 12-output tiles, rows around the 8- and 16-row lane
// groups and the tasks, in_features with a partial last block and columns past the quantized
// span. Each ISA this CPU has; a case skips where it has none of them.
#include "kernels/cpu/linear_int_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear.h"
#include "kernels/linear_test_weights.h"
#include "kernels/quantize_activations.h"

namespace fathom::kernels {
namespace {

using testing::magnitude;
using testing::WeightSpec;
using Groups = WeightSpec::Groups;

struct GemmCase {
  WeightSpec spec;
  int64_t num_rows = 1;
};

std::ostream& operator<<(std::ostream& os, const GemmCase& c) {
  os << weight_format_name(c.spec.format) << "_out" << c.spec.out << "_in" << c.spec.in << "_rows"
     << c.num_rows;
  if (c.spec.format == WeightFormat::kInt4Grouped) {
    os << "_gs" << (c.spec.group_size < 0 ? std::string("row") : std::to_string(c.spec.group_size));
    if (c.spec.groups == Groups::kPermuted) os << "_permuted";
  }
  return os;
}

std::vector<GemmCase> gemm_cases() {
  // (out, in, rows): in 300 and 1000 end in a partial block and in columns past the span (a
  // multiple of 32); rows 600 is more than one 64-row task and not a multiple of 16.
  const int64_t shapes[][3] = {{1, 32, 1},     {7, 96, 5},     {13, 300, 16}, {50, 256, 17},
                               {97, 544, 33},  {12, 1000, 47}, {48, 512, 64}, {61, 320, 100},
                               {24, 288, 130}, {19, 96, 600},  {100, 64, 8},  {6, 2048, 31}};
  std::vector<GemmCase> cases;
  uint32_t seed = 100;
  for (const auto& sh : shapes) {
    cases.push_back(
        {{.format = WeightFormat::kInt8Channel, .out = sh[0], .in = sh[1], .seed = seed++}, sh[2]});
    for (int32_t gs : {32, 64, 128})
      for (Groups g : {Groups::kContiguous, Groups::kPermuted})
        cases.push_back({{.format = WeightFormat::kInt4Grouped,
                          .out = sh[0],
                          .in = sh[1],
                          .group_size = gs,
                          .groups = g,
                          .seed = seed++},
                         sh[2]});
  }
  // One group per row (group_size = in, a multiple of 32 here).
  cases.push_back({{.format = WeightFormat::kInt4Grouped,
                    .out = 29,
                    .in = 640,
                    .group_size = -1,
                    .seed = seed++},
                   40});
  return cases;
}

constexpr cpu::Isa kGemmIsas[] = {cpu::Isa::kAvx512Vnni, cpu::Isa::kAvxVnni, cpu::Isa::kAvx2};

std::vector<cpu::Isa> available_gemm_isas() {
  std::vector<cpu::Isa> v;
  for (cpu::Isa isa : kGemmIsas)
    if (cpu::isa_available(isa)) v.push_back(isa);
  return v;
}

class LinearIntGemm : public ::testing::TestWithParam<GemmCase> {};

TEST_P(LinearIntGemm, MatchesReducedReference) {
  const std::vector<cpu::Isa> isas = available_gemm_isas();
  if (isas.empty()) GTEST_SKIP() << "no AVX2";
  const GemmCase c = GetParam();
  const LinearWeight w = testing::make_weight(c.spec);
  const std::vector<float> x = testing::random_input(c.num_rows, c.spec.in, c.spec.seed + 7);
  const size_t ny = static_cast<size_t>(c.num_rows * c.spec.out);
  std::vector<float> want(ny);
  linear_ref_reduced(w, x.data(), c.num_rows, want.data());
  const std::vector<double> mag = magnitude(w, x, c.num_rows);

  ThreadPool pool(3);
  for (cpu::Isa isa : isas) {
    SCOPED_TRACE(cpu::isa_name(isa));
    ASSERT_EQ(cpu::choose_path(w, c.num_rows, isa, cpu::LinearPath::kIntGemm,
                               ActivationPrecision::kReduced),
              cpu::LinearPath::kIntGemm);
    std::vector<float> got(ny, std::nanf(""));
    cpu::linear_cpu_isa(w, x.data(), c.num_rows, got.data(), pool, isa, cpu::LinearPath::kIntGemm,
                        ActivationPrecision::kReduced);
    for (size_t k = 0; k < ny; ++k)
      ASSERT_LE(std::fabs(double{got[k]} - want[k]), 1e-5 * mag[k] + 1e-30)
          << "y[" << k / c.spec.out << ", " << k % c.spec.out << "] = " << got[k] << " reference "
          << want[k];
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearIntGemm, ::testing::ValuesIn(gemm_cases()),
                         [](const ::testing::TestParamInfo<GemmCase>& param) {
                           std::ostringstream os;
                           os << param.param;
                           return os.str();
                         });

TEST(LinearIntGemmTest, NonFiniteInputFallsBackToTheFloatPath) {
  const std::vector<cpu::Isa> isas = available_gemm_isas();
  if (isas.empty()) GTEST_SKIP() << "no AVX2";
  const LinearWeight w =
      testing::make_weight({.format = WeightFormat::kInt8Channel, .out = 20, .in = 96, .seed = 4});
  std::vector<float> x = testing::random_input(20, 96, 5);
  x[3 * 96 + 50] = std::nanf("");
  std::vector<float> want(20 * 20);
  linear_ref(w, x.data(), 20, want.data());
  const std::vector<double> mag = magnitude(w, x, 20);
  ThreadPool pool(2);
  for (cpu::Isa isa : isas) {
    SCOPED_TRACE(cpu::isa_name(isa));
    std::vector<float> got(20 * 20);
    cpu::linear_cpu_isa(w, x.data(), 20, got.data(), pool, isa, cpu::LinearPath::kIntGemm,
                        ActivationPrecision::kReduced);
    for (int64_t k = 0; k < 20 * 20; ++k) {
      if (k / 20 == 3) {
        EXPECT_TRUE(std::isnan(got[k])) << k;
        continue;
      }
      EXPECT_LE(std::fabs(double{got[k]} - want[k]), 1e-5 * mag[k]) << k;  // fp32, not codes
    }
  }
}

TEST(LinearIntGemmTest, AutoTakesTheGemmForManyReducedRowsOnly) {
  const LinearWeight q8 =
      testing::make_weight({.format = WeightFormat::kInt8Channel, .out = 16, .in = 64, .seed = 2});
  const LinearWeight q4 = testing::make_weight(
      {.format = WeightFormat::kInt4Grouped, .out = 16, .in = 64, .group_size = 32, .seed = 3});
  const auto pick = [](const LinearWeight& w, int64_t rows, ActivationPrecision act) {
    return cpu::choose_path(w, rows, cpu::Isa::kAvx512Vnni, cpu::LinearPath::kAuto, act);
  };
  const ActivationPrecision reduced = ActivationPrecision::kReduced;
  EXPECT_EQ(pick(q4, cpu::kIntGemmMinRows, reduced), cpu::LinearPath::kIntGemm);
  EXPECT_EQ(pick(q4, cpu::kIntGemmMinRows - 1, reduced), cpu::LinearPath::kInt);
  EXPECT_EQ(pick(q8, cpu::kIntGemmMinRows, reduced), cpu::LinearPath::kIntGemm);
  EXPECT_EQ(pick(q8, cpu::kIntGemmMinRows - 1, reduced), cpu::LinearPath::kInt);
  EXPECT_EQ(pick(q8, 512, reduced), cpu::LinearPath::kIntGemm);  // prefill too
  EXPECT_NE(pick(q8, 512, ActivationPrecision::kExact), cpu::LinearPath::kIntGemm);
  // AVX2 and AVX-VNNI take AVX2's GEMM, int4 from fewer rows; AVX-512 without VNNI and scalar
  // keep the float kernels.
  for (cpu::Isa isa : {cpu::Isa::kAvx2, cpu::Isa::kAvxVnni}) {
    const auto pick_isa = [&](const LinearWeight& w, int64_t rows) {
      return cpu::choose_path(w, rows, isa, cpu::LinearPath::kAuto, reduced);
    };
    EXPECT_EQ(pick_isa(q4, cpu::kIntGemmMinRowsAvx2Int4), cpu::LinearPath::kIntGemm);
    EXPECT_EQ(pick_isa(q4, cpu::kIntGemmMinRowsAvx2Int4 - 1), cpu::LinearPath::kInt);
    EXPECT_EQ(pick_isa(q8, cpu::kIntGemmMinRows), cpu::LinearPath::kIntGemm);
    EXPECT_EQ(pick_isa(q8, cpu::kIntGemmMinRows - 1), cpu::LinearPath::kInt);
    EXPECT_EQ(pick_isa(q4, 512), cpu::LinearPath::kIntGemm);
  }
  for (cpu::Isa isa : {cpu::Isa::kAvx512, cpu::Isa::kScalar})
    EXPECT_NE(cpu::choose_path(q8, 512, isa, cpu::LinearPath::kIntGemm, reduced),
              cpu::LinearPath::kIntGemm);
}

}  // namespace
}  // namespace fathom::kernels
