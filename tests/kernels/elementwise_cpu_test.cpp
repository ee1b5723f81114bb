#include "kernels/cpu/elementwise_cpu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/ops.h"

namespace fathom::kernels::cpu {
namespace {

std::vector<Isa> isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
    if (isa_available(isa)) out.push_back(isa);
  return out;
}

// Every length up to two vectors and past the pool's chunk, values across silu's whole range
// (both tails, zero, the overflow edge of exp): within 8 float ulps of kernels::silu_mul's.
TEST(ElementwiseCpuTest, SiluMulMatchesTheReference) {
  ThreadPool pool(2);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f), narrow(-6.0f, 6.0f);
  for (Isa isa : isas()) {
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{8}, int64_t{15}, int64_t{16},
                      int64_t{17}, int64_t{33}, int64_t{4095}, int64_t{4097}, int64_t{20000}}) {
      std::vector<float> g(static_cast<size_t>(n)), u(g.size()), want(g.size()), got(g.size());
      for (int64_t i = 0; i < n; ++i) {
        g[i] = i % 3 == 0 ? wide(rng) : narrow(rng);
        u[i] = narrow(rng);
      }
      if (n > 4) g[0] = 0.0f, g[1] = -87.0f, g[2] = 88.0f, g[3] = -1e-30f;
      silu_mul(g.data(), u.data(), n, want.data());
      silu_mul_cpu(g.data(), u.data(), n, got.data(), pool, isa);
      for (int64_t i = 0; i < n; ++i) {
        const float tol = 8 * std::numeric_limits<float>::epsilon() * std::fabs(want[i]) + 1e-30f;
        ASSERT_NEAR(got[i], want[i], tol)
            << "isa " << static_cast<int>(isa) << " n " << n << " gate " << g[i];
      }
    }
  }
}

// Widths around the vector lengths and the model's, one row and several (split over the pool),
// in place and not: within 2 float ulps of kernels::rms_norm's (the sum of squares differs
// only in the order of its double additions).
TEST(ElementwiseCpuTest, RmsNormMatchesTheReference) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  for (Isa isa : isas()) {
    for (int64_t dim : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{16}, int64_t{17}, int64_t{100},
                        int64_t{1536}, int64_t{1537}, int64_t{7168}}) {
      for (int64_t rows : {int64_t{1}, int64_t{3}, int64_t{40}}) {
        const auto n = static_cast<size_t>(rows * dim);
        std::vector<float> x(n), w(static_cast<size_t>(dim)), want(n), got(n);
        for (float& v : x) v = dist(rng);
        for (float& v : w) v = dist(rng);
        rms_norm(x.data(), w.data(), rows, dim, 1e-6f, want.data());
        rms_norm_cpu(x.data(), w.data(), rows, dim, 1e-6f, got.data(), pool, isa);
        std::vector<float> in_place = x;
        rms_norm_cpu(in_place.data(), w.data(), rows, dim, 1e-6f, in_place.data(), pool, isa);
        for (size_t i = 0; i < n; ++i) {
          const float tol = 2 * std::numeric_limits<float>::epsilon() * std::fabs(want[i]);
          ASSERT_NEAR(got[i], want[i], tol) << "isa " << static_cast<int>(isa) << " dim " << dim
                                            << " rows " << rows << " at " << i;
          ASSERT_EQ(in_place[i], got[i]) << "in place, isa " << static_cast<int>(isa);
        }
      }
    }
  }
}

TEST(ElementwiseCpuTest, SiluMulPropagatesNaN) {
  ThreadPool pool(1);
  for (Isa isa : isas()) {
    std::vector<float> g(19, 1.0f), u(19, 1.0f), out(19);
    g[4] = std::numeric_limits<float>::quiet_NaN();
    u[17] = std::numeric_limits<float>::quiet_NaN();
    silu_mul_cpu(g.data(), u.data(), 19, out.data(), pool, isa);
    EXPECT_TRUE(std::isnan(out[4]));
    EXPECT_TRUE(std::isnan(out[17]));
    EXPECT_FALSE(std::isnan(out[5]));
  }
}

}  // namespace
}  // namespace fathom::kernels::cpu
