// linear_cpu (every instruction-set path this machine has: scalar, AVX2, AVX-VNNI, AVX-512 and
// AVX-512 VNNI on x86; NEON, dotprod and i8mm on ARM, where qemu-aarch64 -cpu max emulates them
// all) against linear_ref, the oracle, on every weight format and many shapes, odd ones
// included, in both activation precisions: the integer kernels' kReduced mode against
// linear_ref_reduced (tight) and against linear_ref within the int8 rounding of x.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <vector>

#include "kernels/bf16_panel.h"
#include "kernels/cpu/linear_bf16_avx512.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear.h"
#include "kernels/linear_bf16.h"
#include "kernels/linear_test_weights.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

using testing::magnitude;
using testing::WeightSpec;
using Groups = WeightSpec::Groups;

struct ParityCase {
  WeightSpec spec;
  int64_t num_rows = 1;
};

std::string describe(const ParityCase& c) {
  std::ostringstream os;
  os << weight_format_name(c.spec.format) << "_out" << c.spec.out << "_in" << c.spec.in << "_rows"
     << c.num_rows;
  if (c.spec.format == WeightFormat::kFp8Block)
    os << "_block" << c.spec.block_out << "x" << c.spec.block_in;
  if (c.spec.format == WeightFormat::kInt4Grouped) {
    os << "_gs" << (c.spec.group_size < 0 ? std::string("row") : std::to_string(c.spec.group_size));
    if (c.spec.groups == Groups::kScattered) os << "_scattered";
    if (c.spec.groups == Groups::kPermuted) os << "_permuted";
  }
  if (c.spec.format == WeightFormat::kGgml) os << "_" << ggml_type_name(c.spec.ggml_type);
  return os.str();
}

std::vector<ParityCase> all_cases() {
  // (out, in, rows): out not a multiple of 8 or 16, in not a multiple of 8 or 16, rows 1, 3, 17,
  // more than one row tile (40) and enough rows for the AVX-512 panel GEMM (70).
  const int64_t shapes[][3] = {{1, 1, 1},      {7, 13, 3},   {8, 8, 1},    {9, 17, 17},
                               {33, 100, 5},   {72, 96, 1},  {65, 257, 3}, {128, 512, 17},
                               {16, 1000, 40}, {300, 64, 2}, {40, 40, 4},  {21, 80, 70}};
  std::vector<ParityCase> cases;
  uint32_t seed = 1;
  for (const auto& sh : shapes) {
    for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16,
                           WeightFormat::kInt8Channel}) {
      ParityCase c;
      c.spec = {.format = f, .out = sh[0], .in = sh[1], .seed = seed++};
      c.num_rows = sh[2];
      cases.push_back(c);
    }
    for (auto [bo, bi] : {std::pair{16, 16}, {128, 128}, {3, 5}, {1, 8}, {7, 24}}) {
      ParityCase c;
      c.spec = {.format = WeightFormat::kFp8Block, .out = sh[0], .in = sh[1], .block_out = bo,
                .block_in = bi, .seed = seed++};
      c.num_rows = sh[2];
      cases.push_back(c);
    }
    for (int32_t gs : {8, 32, 128, -1, 5}) {
      for (Groups g : {Groups::kContiguous, Groups::kScattered, Groups::kPermuted}) {
        ParityCase c;
        c.spec = {.format = WeightFormat::kInt4Grouped, .out = sh[0], .in = sh[1],
                  .group_size = gs, .groups = g, .seed = seed++};
        c.num_rows = sh[2];
        cases.push_back(c);
      }
    }
  }
  // One x row of int4 with groups of whole 128-column chunks: the AVX-512 VNNI decode kernel's
  // wide x order (linear_int_x.h), one chunk per group or several, a fp32 tail past the span
  // (400), and groups of 64 beside them (the 32-column order).
  for (const auto& sh : {std::array<int64_t, 2>{37, 384}, {19, 400}, {5, 1536}})
    for (int32_t gs : {128, 256, -1, 64})
      for (Groups g : {Groups::kContiguous, Groups::kPermuted}) {
        ParityCase c;
        c.spec = {.format = WeightFormat::kInt4Grouped,
                  .out = sh[0],
                  .in = sh[1],
                  .group_size = gs,
                  .groups = g,
                  .seed = seed++};
        c.num_rows = 1;
        cases.push_back(c);
      }
  // GGML blocks (in a multiple of the block: 32 for Q8_0, 256 for the k-quants): odd out, rows
  // across the integer kernels' range (1..63: their row tiles and tails) and past it (70).
  const int64_t ggml_shapes[][3] = {{1, 256, 1},   {7, 512, 3},   {33, 256, 2}, {17, 768, 17},
                                    {5, 1024, 63}, {40, 256, 40}, {9, 512, 70}, {3, 256, 5},
                                    {12, 1536, 1}, {21, 256, 32}, {2, 2048, 9}, {6, 256, 64}};
  for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0, GgmlType::kQ4_K,
                     GgmlType::kQ5_K, GgmlType::kQ6_K}) {
    for (const auto& sh : ggml_shapes) {
      ParityCase c;
      c.spec = {
          .format = WeightFormat::kGgml, .out = sh[0], .in = sh[1], .seed = seed++, .ggml_type = t};
      c.num_rows = sh[2];
      cases.push_back(c);
    }
  }
  for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0})  // 32-column blocks
    for (const auto& sh : {std::array<int64_t, 3>{13, 96, 4}, {6, 160, 1}, {31, 32, 3}}) {
      ParityCase c;
      c.spec = {
          .format = WeightFormat::kGgml, .out = sh[0], .in = sh[1], .seed = seed++, .ggml_type = t};
      c.num_rows = sh[2];
      cases.push_back(c);
    }
  return cases;
}

// Sum over j of |W[o, j]| * (x's int8 step in j's block) / 2: the most that rounding x to
// kReduced codes can move y[r, o] (|x - scale * code| <= scale / 2). Zero where the integer
// kernels do not apply.
std::vector<double> reduced_rounding(const LinearWeight& w, const std::vector<float>& x,
                                     int64_t rows) {
  const int64_t in = w.in_features, out = w.out_features;
  std::vector<double> m(static_cast<size_t>(rows * out), 0.0);
  if (!int_dot_applies(w)) return m;
  const ActivationBlocks ab = activation_blocks(w);
  std::vector<float> xs(static_cast<size_t>(in)), row(static_cast<size_t>(in)),
      half_step(static_cast<size_t>(in), 0.0f);
  std::vector<int32_t> codes(static_cast<size_t>(in));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < in; ++j) xs[j] = x[r * in + detail::input_column(w, j)];
    for (int64_t b = 0; b < ab.count; ++b) {
      const int64_t j0 = b * ab.block, n = std::min(ab.block, ab.span - j0);
      float scale = 0;
      EXPECT_TRUE(quantize_activation_block(xs.data() + j0, n, ActivationPrecision::kReduced,
                                            codes.data(), &scale));
      std::fill_n(half_step.begin() + j0, n, scale / 2);
    }
    for (int64_t o = 0; o < out; ++o) {
      dequantize_row(w, o, row.data());  // W's own column order
      double s = 0;
      for (int64_t j = 0; j < ab.span; ++j)
        s += std::fabs(double{row[detail::input_column(w, j)]}) * half_step[j];
      m[r * out + o] = s;
    }
  }
  return m;
}

// Every (ISA, kernel family, activation precision); the test skips those this CPU or the case
// cannot run, and the VNNI ISAs' float paths (their base ISA's kernels, tested there).
struct IsaPath {
  cpu::Isa isa;
  cpu::LinearPath path;
  ActivationPrecision act;
};
std::vector<IsaPath> isa_paths() {
  std::vector<IsaPath> v;
  for (cpu::Isa isa : cpu::kAllIsas)
    for (cpu::LinearPath p :
         {cpu::LinearPath::kTiles, cpu::LinearPath::kRows, cpu::LinearPath::kPanel,
          cpu::LinearPath::kInt, cpu::LinearPath::kIntGemm})
      for (ActivationPrecision act : {ActivationPrecision::kExact, ActivationPrecision::kReduced})
        if (cpu::float_isa(isa) == isa || p == cpu::LinearPath::kInt ||
            p == cpu::LinearPath::kIntGemm)
          v.push_back({isa, p, act});
  return v;
}

bool runs(const IsaPath& ip, const LinearWeight& w, int64_t rows) {
  return cpu::isa_available(ip.isa) &&
         cpu::choose_path(w, rows, ip.isa, ip.path, ip.act) == ip.path;
}

std::string name(const IsaPath& ip) {
  return std::string(cpu::isa_name(ip.isa)) + "/" + cpu::path_name(ip.path) + "/" +
         activation_precision_name(ip.act);
}

class LinearParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(LinearParity, CpuMatchesReferenceOnEveryIsa) {
  const ParityCase c = GetParam();
  const LinearWeight w = testing::make_weight(c.spec);
  const std::vector<float> x = testing::random_input(c.num_rows, c.spec.in, c.spec.seed + 7);
  const size_t ny = static_cast<size_t>(c.num_rows * c.spec.out);
  std::vector<float> want(ny), want_reduced(ny);
  linear_ref(w, x.data(), c.num_rows, want.data());
  linear_ref_reduced(w, x.data(), c.num_rows, want_reduced.data());
  const std::vector<double> mag = magnitude(w, x, c.num_rows);
  const std::vector<double> rounding = reduced_rounding(w, x, c.num_rows);

  ThreadPool pool(3);
  for (const IsaPath& ip : isa_paths()) {
    if (!runs(ip, w, c.num_rows)) continue;
    // bf16 dot products round x to bf16: LinearParityReduced checks them against their oracle.
    if (cpu::uses_bf16_dot(w, c.num_rows, ip.isa, ip.path, ip.act)) continue;
    std::vector<float> got(ny, std::nanf(""));
    cpu::linear_cpu_isa(w, x.data(), c.num_rows, got.data(), pool, ip.isa, ip.path, ip.act);
    // Only the integer kernels round x (kReduced); everything else matches linear_ref.
    const bool reduced =
        (ip.path == cpu::LinearPath::kInt || ip.path == cpu::LinearPath::kIntGemm) &&
        ip.act == ActivationPrecision::kReduced;
    const std::vector<float>& oracle = reduced ? want_reduced : want;
    double err2 = 0, ref2 = 0;
    for (size_t k = 0; k < ny; ++k) {
      const double d = double{got[k]} - oracle[k];
      err2 += d * d;
      ref2 += double{oracle[k]} * oracle[k];
      // fp32 accumulation: error well under 1e-5 of sum |x * w| (in <= 1000 here).
      ASSERT_LE(std::fabs(d), 1e-5 * mag[k] + 1e-30)
          << name(ip) << " y[" << k / c.spec.out << ", " << k % c.spec.out << "] = " << got[k]
          << (reduced ? " reduced reference " : " reference ") << oracle[k];
      if (reduced) {  // and the reduced result is the exact one moved by x's rounding at most
        ASSERT_LE(std::fabs(double{got[k]} - want[k]), rounding[k] + 1e-5 * mag[k] + 1e-30)
            << name(ip) << " y[" << k / c.spec.out << ", " << k % c.spec.out << "] = " << got[k]
            << " reference " << want[k];
      }
    }
    const double nmse = ref2 > 0 ? err2 / ref2 : err2;
    EXPECT_LT(nmse, 1e-11) << name(ip);
  }
}

TEST(LinearCpu, ReducedActivationsRoundXLikeInt8) {
  // The bound above is not vacuous: kReduced differs from the exact result, by a few per mille.
  const LinearWeight w =
      testing::make_weight({.format = WeightFormat::kInt8Channel, .out = 16, .in = 512, .seed = 9});
  const auto x = testing::random_input(3, 512, 10);
  std::vector<float> exact(48), reduced(48);
  linear_ref(w, x.data(), 3, exact.data());
  linear_ref_reduced(w, x.data(), 3, reduced.data());
  double err2 = 0, ref2 = 0;
  for (size_t k = 0; k < exact.size(); ++k) {
    err2 += (double{reduced[k]} - exact[k]) * (double{reduced[k]} - exact[k]);
    ref2 += double{exact[k]} * exact[k];
  }
  EXPECT_GT(err2 / ref2, 1e-9);
  EXPECT_LT(err2 / ref2, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearParity, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ParityCase>& param) {
                           return describe(param.param);
                         });

// ActivationPrecision::kReduced on bf16 and f16 weights, every (ISA, path) this CPU has: the
// bf16 dot-product kernels against their own oracle (x rounded to bf16 as the kernel does,
// double sums) with fp32 accumulation's tolerance, and against linear_ref with the tolerance
// bf16 rounding allows; every other pair keeps x in fp32 and must match linear_ref as tightly
// as kExact does. Shapes: those above, plus more rows than one panel chunk (192) over several
// 256-column blocks.
std::vector<ParityCase> bf16_cases() {
  std::vector<ParityCase> cases;
  for (const ParityCase& c : all_cases())
    if (c.spec.format == WeightFormat::kBF16 || c.spec.format == WeightFormat::kF16)
      cases.push_back(c);
  uint32_t seed = 9000;
  for (WeightFormat f : {WeightFormat::kBF16, WeightFormat::kF16}) {
    cases.push_back({{.format = f, .out = 37, .in = 515, .seed = seed++}, 200});
    cases.push_back({{.format = f, .out = 70, .in = 31, .seed = seed++}, 13});
  }
  return cases;
}

class LinearParityReduced : public ::testing::TestWithParam<ParityCase> {};

TEST_P(LinearParityReduced, Bf16DotMatchesItsOracleOnEveryIsa) {
  const ParityCase c = GetParam();
  const LinearWeight w = testing::make_weight(c.spec);
  const std::vector<float> x = testing::random_input(c.num_rows, c.spec.in, c.spec.seed + 7);
  const size_t ny = static_cast<size_t>(c.num_rows * c.spec.out);
  std::vector<float> exact(ny), reduced(ny);
  linear_ref(w, x.data(), c.num_rows, exact.data());
  linear_ref_bf16(w, x.data(), c.num_rows, reduced.data());
  const std::vector<double> mag = magnitude(w, x, c.num_rows);
  // bf16 keeps 8 significant bits: x (and an f16 weight) each move by at most 2^-9 relative.
  const double bf16_tol = c.spec.format == WeightFormat::kF16 ? 0x1p-8 : 0x1p-9;

  ThreadPool pool(3);
  int bf16_runs = 0;
  for (const IsaPath& ip : isa_paths()) {
    const cpu::Isa isa = ip.isa;
    const cpu::LinearPath path = ip.path;
    if (ip.act != ActivationPrecision::kReduced || !runs(ip, w, c.num_rows)) continue;
    const bool bf16 = cpu::uses_bf16_dot(w, c.num_rows, isa, path, ActivationPrecision::kReduced);
    bf16_runs += bf16;
    std::vector<float> got(ny, std::nanf(""));
    cpu::linear_cpu_isa(w, x.data(), c.num_rows, got.data(), pool, isa, path,
                        ActivationPrecision::kReduced);
    for (size_t k = 0; k < ny; ++k) {
      const double want = bf16 ? reduced[k] : exact[k];
      ASSERT_LE(std::fabs(double{got[k]} - want), 1e-5 * mag[k] + 1e-30)
          << cpu::isa_name(isa) << "/" << cpu::path_name(path) << (bf16 ? " bf16" : " fp32")
          << " y[" << k / c.spec.out << ", " << k % c.spec.out << "] = " << got[k] << " oracle "
          << want;
      ASSERT_LE(std::fabs(double{got[k]} - exact[k]), bf16_tol * mag[k] + 1e-30)
          << cpu::isa_name(isa) << "/" << cpu::path_name(path) << " y[" << k << "]";
    }
  }
  if (!cpu::avx512_bf16_available()) return;
  EXPECT_EQ(bf16_runs, 2) << "rows and panel";
  if (c.spec.format != WeightFormat::kBF16) return;
  // The same weights from a ready-made panel copy (kernels/bf16_panel.h): read directly, and
  // by kAuto and kPanel from kBf16PanelMinRows rows on.
  LinearWeight wp = w;
  wp.bf16_panel = std::make_shared<Bf16PanelSlot>();
  wp.bf16_panel->set(
      pack_bf16_panel(static_cast<const uint16_t*>(w.values), c.spec.out, c.spec.in));
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<float> got(ny, std::nanf(""));
    if (variant == 0) {
      ASSERT_TRUE(cpu::linear_bf16_panel(wp, x.data(), c.num_rows, got.data(), pool));
    } else {
      cpu::linear_cpu_isa(wp, x.data(), c.num_rows, got.data(), pool, cpu::Isa::kAvx512,
                          variant == 1 ? cpu::LinearPath::kAuto : cpu::LinearPath::kPanel,
                          ActivationPrecision::kReduced);
    }
    for (size_t k = 0; k < ny; ++k)
      ASSERT_LE(std::fabs(double{got[k]} - reduced[k]), 1e-5 * mag[k] + 1e-30)
          << "panel copy, variant " << variant << " y[" << k / c.spec.out << ", " << k % c.spec.out
          << "] = " << got[k] << " oracle " << reduced[k];
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearParityReduced, ::testing::ValuesIn(bf16_cases()),
                         [](const ::testing::TestParamInfo<ParityCase>& param) {
                           return describe(param.param);
                         });

// One input column times a weight of 1: y is x as the kernel rounded it, bit for bit, which
// must be bf16_round's value (ties to even, denormals to zero, NaN, overflow; the sign of a
// zero is lost in the sum, which starts at +0).
TEST(LinearBf16, RoundsXExactlyLikeTheOracle) {
  if (!cpu::avx512_bf16_available()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const float xs[] = {1.0f + 0x1p-8f,
                      1.0f + 3 * 0x1p-8f,
                      -(1.0f + 0x1p-8f),
                      0x1.fffffep127f,
                      1e-40f,
                      -1e-40f,
                      0x1p-126f,
                      std::nanf(""),
                      INFINITY,
                      -2.5f,
                      3.14159265f,
                      65504.0f};
  constexpr int64_t n = std::size(xs);
  for (WeightFormat f : {WeightFormat::kBF16, WeightFormat::kF16}) {
    LinearWeight w = testing::make_weight({.format = f, .out = 1, .in = 1});
    const uint16_t one = f == WeightFormat::kBF16 ? f32_to_bf16(1.0f) : f32_to_f16(1.0f);
    *const_cast<uint16_t*>(static_cast<const uint16_t*>(w.values)) = one;
    ThreadPool pool(2);
    for (cpu::LinearPath path : {cpu::LinearPath::kRows, cpu::LinearPath::kPanel}) {
      std::vector<float> y(n);
      cpu::linear_cpu_isa(w, xs, n, y.data(), pool, cpu::Isa::kAvx512, path,
                          ActivationPrecision::kReduced);
      for (int64_t k = 0; k < n; ++k) {
        const float want = bf16_to_f32(bf16_round(xs[k]));
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(y[k])) << k;
          continue;
        }
        EXPECT_EQ(y[k], want) << cpu::path_name(path) << " x = " << xs[k];
      }
    }
  }
}

TEST(LinearBf16, OracleRoundsTiesToEvenAndFlushesDenormals) {
  EXPECT_EQ(bf16_round(1.0f + 0x1p-8f), f32_to_bf16(1.0f));
  EXPECT_EQ(bf16_round(1.0f + 3 * 0x1p-8f), f32_to_bf16(1.0f + 0x1p-6f));
  EXPECT_EQ(bf16_round(1e-40f), 0x0000);
  EXPECT_EQ(bf16_round(-1e-40f), 0x8000);
  EXPECT_EQ(bf16_round(0x1.fffffep127f), 0x7f80);  // rounds up to infinity
  EXPECT_TRUE(std::isnan(bf16_to_f32(bf16_round(std::nanf("")))));
}

TEST(LinearCpu, DefaultEntryPointMatchesReference) {
  const LinearWeight w = testing::make_weight(
      {.format = WeightFormat::kInt4Grouped, .out = 24, .in = 64, .group_size = 16});
  const auto x = testing::random_input(2, 64, 3);
  std::vector<float> want(48), got(48);
  linear_ref(w, x.data(), 2, want.data());
  ThreadPool pool(2);
  linear_cpu(w, x.data(), 2, got.data(), pool);
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4f) << k;
}

TEST(LinearCpu, ReportsTheIsaItDispatchesTo) {
  // Informational: this is the path linear_cpu takes on this machine.
  const cpu::Isa isa = cpu::best_isa();
  EXPECT_TRUE(cpu::isa_available(isa));
  std::printf("linear_cpu dispatches to %s\n", cpu::isa_name(isa));
}

TEST(LinearCpu, BestIsaHonoursTheCap) {
  // Run with FATHOM_CPU_ISA set (ctest linear_isa_cap_test: avx512): never a better path.
  const char* cap = std::getenv("FATHOM_CPU_ISA");
  if (cap == nullptr) GTEST_SKIP() << "FATHOM_CPU_ISA not set";
  for (cpu::Isa isa : cpu::kAllIsas)
    if (std::string_view(cap) == cpu::isa_name(isa)) {
      EXPECT_LE(cpu::best_isa(), isa) << cpu::isa_name(cpu::best_isa());
      return;
    }
  ADD_FAILURE() << "unknown FATHOM_CPU_ISA " << cap;
}

class Fp8Nan : public ::testing::TestWithParam<int32_t> {};

// Block widths 8 (no AVX-512 rows decoder) and 16 (one).
INSTANTIATE_TEST_SUITE_P(BlockIn, Fp8Nan, ::testing::Values(8, 16));

TEST_P(Fp8Nan, CodePropagatesLikeTheReference) {
  testing::WeightSpec s{.format = WeightFormat::kFp8Block,
                        .out = 2,
                        .in = 16,
                        .block_out = 1,
                        .block_in = GetParam()};
  LinearWeight w = testing::make_weight(s);
  auto* codes = const_cast<uint8_t*>(static_cast<const uint8_t*>(w.values));
  codes[3] = 0x7f;   // +NaN in row 0 (SIMD part)
  codes[16 + 9] = 0xff;  // -NaN in row 1
  std::vector<float> x(16, 1.0f), want(2), got(2);
  linear_ref(w, x.data(), 1, want.data());
  ThreadPool pool(1);
  for (const IsaPath& ip : isa_paths()) {
    if (!runs(ip, w, 1)) continue;
    std::fill(got.begin(), got.end(), 0.0f);
    cpu::linear_cpu_isa(w, x.data(), 1, got.data(), pool, ip.isa, ip.path, ip.act);
    EXPECT_TRUE(std::isnan(want[0]) && std::isnan(got[0])) << name(ip);
    EXPECT_TRUE(std::isnan(want[1]) && std::isnan(got[1])) << name(ip);
  }
}

TEST(LinearCpu, NonFiniteInputPropagatesLikeTheReference) {
  // The integer paths (ARM, x86) cannot carry a NaN or an infinity in their limbs or codes:
  // they hand such inputs to the fp32 kernels.
  const WeightSpec specs[] = {
      {.format = WeightFormat::kInt8Channel, .out = 3, .in = 256},
      {.format = WeightFormat::kInt4Grouped, .out = 3, .in = 256, .group_size = 32},
      {.format = WeightFormat::kGgml, .out = 3, .in = 256, .ggml_type = GgmlType::kQ8_0},
      {.format = WeightFormat::kGgml, .out = 3, .in = 256, .ggml_type = GgmlType::kQ4_0},
      {.format = WeightFormat::kGgml, .out = 3, .in = 256, .ggml_type = GgmlType::kQ4_K},
      {.format = WeightFormat::kGgml, .out = 3, .in = 256, .ggml_type = GgmlType::kQ5_K},
      {.format = WeightFormat::kGgml, .out = 3, .in = 256, .ggml_type = GgmlType::kQ6_K}};
  for (const WeightSpec& spec : specs) {
    const WeightFormat f = spec.format;
    const LinearWeight w = testing::make_weight(spec);
    std::vector<float> x = testing::random_input(2, 256, 5);
    x[10] = std::nanf("");
    x[256 + 40] = INFINITY;
    std::vector<float> want(6), got(6);
    linear_ref(w, x.data(), 2, want.data());
    ThreadPool pool(2);
    for (const IsaPath& ip : isa_paths()) {
      if (!runs(ip, w, 2)) continue;
      cpu::linear_cpu_isa(w, x.data(), 2, got.data(), pool, ip.isa, ip.path, ip.act);
      for (size_t k = 0; k < 6; ++k)
        EXPECT_EQ(std::isfinite(got[k]), std::isfinite(want[k]))
            << name(ip) << " " << weight_format_name(f) << " " << ggml_type_name(spec.ggml_type)
            << " y[" << k << "]";
    }
  }
}

TEST(LinearCpu, ZeroInputFeaturesGiveZeros) {
  LinearWeight w;
  w.format = WeightFormat::kF32;
  w.out_features = 3;
  w.in_features = 0;
  std::vector<float> y(6, 1.0f);
  ThreadPool pool(2);
  linear_cpu(w, nullptr, 2, y.data(), pool);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace fathom::kernels
