// kernels/bf16_packed.h: the 12-bit packing is lossless (every bf16 bit pattern that occurs in
// weights, escapes included), and the one-row kernels read the packed copy with the tolerance
// of their oracles: AVX-512 BF16's (cpu/linear_bf16_avx512.cpp) and AVX2's
// (cpu/linear_bf16_packed_avx2.cpp), each where the CPU has it.
#include "kernels/bf16_packed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_bf16_avx512.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear_bf16.h"
#include "kernels/linear_test_weights.h"

namespace fathom::kernels {
namespace {

using testing::magnitude;
using testing::random_input;

// Gaussian weights (std 0.02, as trained layers), with special values sprinkled in: zeros of
// both signs, denormals, infinities, NaN, and tiny normals next to large ones (escapes).
std::vector<uint16_t> weights(int64_t out, int64_t in, uint32_t seed, bool special) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<uint16_t> v(static_cast<size_t>(out * in));
  for (uint16_t& b : v) b = bf16_round(nd(rng));
  if (special) {
    const uint16_t odd[] = {0x0000, 0x8000, 0x0001, 0x807f, 0x7f80, 0xff80,
                            0x7fc0, 0x0080, 0x3f80, 0x1234, 0x4f00, 0x0200};
    std::uniform_int_distribution<size_t> at(0, v.size() - 1);
    for (int k = 0; k < 40; ++k) v[at(rng)] = odd[k % std::size(odd)];
  }
  return v;
}

TEST(Bf16PackedTest, LaneOrderIsAPermutation) {
  std::vector<int> seen(kBf16PackBlock, 0);
  for (int p = 0; p < kBf16PackBlock; ++p) ++seen[static_cast<size_t>(bf16_pack_lane(p))];
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_EQ(bf16_pack_lane(8), 16);
  EXPECT_EQ(bf16_pack_lane(32), 8);
}

TEST(Bf16PackedTest, UnpackGivesBackEveryBit) {
  for (const auto& [out, in, special] :
       {std::tuple{37, 64, false}, std::tuple{70, 640, true}, std::tuple{5, 1536, true}}) {
    const std::vector<uint16_t> v = weights(out, in, 11u + static_cast<uint32_t>(in), special);
    const std::unique_ptr<Bf16Packed> p = pack_bf16(v.data(), out, in);
    std::vector<uint16_t> row(static_cast<size_t>(in));
    for (int64_t r = 0; r < out; ++r) {
      unpack_bf16_row(*p, r, row.data());
      for (int64_t j = 0; j < in; ++j)
        ASSERT_EQ(row[static_cast<size_t>(j)], v[static_cast<size_t>(r * in + j)])
            << "row " << r << " column " << j << " of " << out << " x " << in;
    }
    if (special) {
      EXPECT_GT(p->escape_block.size(), 0u);
    } else {  // three quarters of the bytes, plus a byte per block (and rare escapes)
      EXPECT_LT(p->size_bytes(), static_cast<int64_t>(v.size() * 2) * 8 / 10);
    }
  }
}

TEST(Bf16PackedTest, AllZeroAndAllEscapedRows) {
  const int64_t in = 128;
  std::vector<uint16_t> v(2 * in, 0);
  for (int64_t j = 0; j < in; ++j)  // row 1: exponents 1 and 200 in every block
    v[static_cast<size_t>(in + j)] = j % 2 ? 0x0080 : 0x6400;
  const std::unique_ptr<Bf16Packed> p = pack_bf16(v.data(), 2, in);
  EXPECT_EQ(p->escape_begin, (std::vector<uint32_t>{0, 0, 2}));
  std::vector<uint16_t> row(in);
  for (int64_t r = 0; r < 2; ++r) {
    unpack_bf16_row(*p, r, row.data());
    EXPECT_TRUE(std::equal(row.begin(), row.end(), v.begin() + r * in));
  }
}

LinearWeight bf16_weight(const std::vector<uint16_t>& v, int64_t out, int64_t in) {
  LinearWeight w;
  w.format = WeightFormat::kBF16;
  w.out_features = out;
  w.in_features = in;
  w.values = v.data();
  return w;
}

// The ISAs whose one-row kernel reads the packed copy on this CPU.
std::vector<cpu::Isa> packed_isas() {
  std::vector<cpu::Isa> isas;
  for (cpu::Isa isa : {cpu::Isa::kAvx512, cpu::Isa::kAvx2})
    if (cpu::isa_available(isa) && cpu::reads_bf16_packed(isa)) isas.push_back(isa);
  return isas;
}

// One x row: on AVX-512 BF16 kReduced against linear_ref_bf16 as LinearParityReduced checks the
// unpacked kernel; kExact, and AVX2 (fp32 FMAs in either precision), against linear_ref as the
// fp32 kernels are. Finite weights only: the oracles' sums of infinities are NaN either way.
TEST(Bf16PackedTest, OneRowKernelMatchesTheOracles) {
  if (packed_isas().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 BF16 on this CPU";
  ThreadPool pool(3);
  for (const auto& [out, in] :
       {std::pair{37, 64}, std::pair{70, 640}, std::pair{300, 1536}, std::pair{17, 8960}}) {
    std::vector<uint16_t> v = weights(out, in, 5u + static_cast<uint32_t>(out), false);
    for (size_t k = 0; k < v.size(); k += 997) v[k] = k % 2 ? 0x0001 : 0x0100;  // escapes
    LinearWeight w = bf16_weight(v, out, in);
    w.bf16_packed = std::make_shared<Bf16PackedSlot>();
    w.bf16_packed->set(pack_bf16(v.data(), out, in));
    ASSERT_GT(w.bf16_packed->get()->escape_block.size(), 0u);
    const std::vector<float> x = random_input(1, in, 99);
    const std::vector<double> mag = magnitude(w, x, 1);
    for (cpu::Isa isa : packed_isas())
      for (ActivationPrecision act : {ActivationPrecision::kReduced, ActivationPrecision::kExact}) {
        std::vector<float> want(static_cast<size_t>(out)), got(static_cast<size_t>(out), NAN);
        if (act == ActivationPrecision::kReduced && isa == cpu::Isa::kAvx512)
          linear_ref_bf16(w, x.data(), 1, want.data());
        else
          linear_ref(w, x.data(), 1, want.data());
        cpu::linear_cpu_isa(w, x.data(), 1, got.data(), pool, isa, cpu::LinearPath::kAuto, act);
        for (int64_t o = 0; o < out; ++o)
          ASSERT_LE(std::fabs(double{got[static_cast<size_t>(o)]} - want[static_cast<size_t>(o)]),
                    1e-5 * mag[static_cast<size_t>(o)] + 1e-30)
              << cpu::isa_name(isa) << " " << out << " x " << in << " y[" << o << "] "
              << activation_precision_name(act);
      }
  }
}

// An infinite x where a block is escaped: the oracle's infinities, not NaN (the AVX2 block loop
// would multiply the escaped block's zero slot by inf).
TEST(Bf16PackedTest, InfiniteXGivesTheOraclesInfinities) {
  if (packed_isas().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 BF16 on this CPU";
  ThreadPool pool(2);
  const int64_t out = 6, in = 128;
  std::vector<uint16_t> v = weights(out, in, 4, false);
  for (int64_t o = 0; o < out; ++o) v[static_cast<size_t>(o * in)] = 0x0100;  // block 0 escapes
  LinearWeight w = bf16_weight(v, out, in);
  w.bf16_packed = std::make_shared<Bf16PackedSlot>();
  w.bf16_packed->set(pack_bf16(v.data(), out, in));
  ASSERT_EQ(w.bf16_packed->get()->escape_block.size(), static_cast<size_t>(out));
  std::vector<float> x = random_input(1, in, 5);
  x[3] = INFINITY;
  std::vector<float> want(out);
  linear_ref(w, x.data(), 1, want.data());
  for (cpu::Isa isa : packed_isas()) {
    std::vector<float> got(out);
    cpu::linear_cpu_isa(w, x.data(), 1, got.data(), pool, isa, cpu::LinearPath::kAuto,
                        ActivationPrecision::kExact);
    for (int64_t o = 0; o < out; ++o) {
      ASSERT_TRUE(std::isinf(want[o])) << o;
      EXPECT_EQ(got[o], want[o]) << cpu::isa_name(isa) << " " << o;
    }
  }
}

// The kernel reads the packed copy once it is published (and the plain values before): a
// packed copy of other weights changes the result to theirs. Two rows read the values as stored.
TEST(Bf16PackedTest, OneRowKernelReadsThePackedCopyOncePublished) {
  if (packed_isas().empty()) GTEST_SKIP() << "no AVX2 or AVX-512 BF16 on this CPU";
  ThreadPool pool(2);
  const int64_t out = 48, in = 256;
  const std::vector<uint16_t> a = weights(out, in, 1, false), b = weights(out, in, 2, false);
  const LinearWeight wb = bf16_weight(b, out, in);
  const std::vector<float> x = random_input(2, in, 3);
  std::vector<float> want_a(2 * out), want_b(out);
  linear_ref(bf16_weight(a, out, in), x.data(), 2, want_a.data());
  linear_ref(wb, x.data(), 1, want_b.data());
  for (cpu::Isa isa : packed_isas()) {
    LinearWeight wa = bf16_weight(a, out, in);
    wa.bf16_packed = std::make_shared<Bf16PackedSlot>();
    const auto run = [&](int64_t rows) {
      std::vector<float> y(static_cast<size_t>(rows * out));
      cpu::linear_cpu_isa(wa, x.data(), rows, y.data(), pool, isa, cpu::LinearPath::kAuto,
                          ActivationPrecision::kExact);
      return y;
    };
    const std::vector<float> before = run(1);
    wa.bf16_packed->set(pack_bf16(b.data(), out, in));
    const std::vector<float> after = run(1), two_rows = run(2);
    const std::vector<double> mag_a = magnitude(wa, x, 2), mag_b = magnitude(wb, x, 1);
    for (int64_t o = 0; o < out; ++o) {
      EXPECT_NEAR(before[o], want_a[o], 1e-5 * mag_a[o]) << cpu::isa_name(isa) << " " << o;
      EXPECT_NEAR(after[o], want_b[o], 1e-5 * mag_b[o]) << cpu::isa_name(isa) << " " << o;
    }
    for (int64_t i = 0; i < 2 * out; ++i)
      EXPECT_NEAR(two_rows[i], want_a[i], 1e-5 * mag_a[i]) << cpu::isa_name(isa) << " " << i;
  }
}

}  // namespace
}  // namespace fathom::kernels
