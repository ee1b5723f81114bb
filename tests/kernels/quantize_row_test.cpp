// quantize_x's SIMD rows (quantize_row_reduced_avx512, quantize_row_avx2 in kReduced and kExact)
// against the oracle they must equal bit for bit: quantize_activation_block per block, codes in
// quantize_x's order, kExact's split into three limbs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/cpu/linear_int_x.h"
#include "kernels/quantize_activations.h"

namespace fathom::kernels {
namespace {

struct Row {
  std::vector<int8_t> codes;
  std::vector<float> scale, code_sum;
};

int limbs(ActivationPrecision act) { return act == ActivationPrecision::kExact ? 3 : 1; }

// The layout quantize_x documents: column order (chunk 0), or per chunk its even columns then
// its odd ones; kExact codes as balanced base-256 digits, limb 0 (most significant) first, one
// run of span bytes each; each digit ^ bias.
Row expected(const std::vector<float>& x, int64_t block, int64_t chunk, int8_t bias,
             ActivationPrecision act) {
  const int64_t span = static_cast<int64_t>(x.size());
  Row want;
  want.codes.resize(x.size() * static_cast<size_t>(limbs(act)));
  std::vector<int32_t> codes(static_cast<size_t>(block));
  for (int64_t j0 = 0; j0 < span; j0 += block) {
    const int64_t n = std::min(block, span - j0);
    float scale = 0;
    EXPECT_TRUE(quantize_activation_block(x.data() + j0, n, act, codes.data(), &scale));
    int64_t sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = j0 + i;
      int64_t at = j;
      if (chunk > 0) {
        const int64_t k = j % chunk;
        at = j - k + (k % 2 == 1 ? chunk / 2 + k / 2 : k / 2);
      }
      int32_t code = codes[i];
      for (int limb = limbs(act) - 1; limb >= 0; --limb) {
        const int32_t digit = ((code + 128) & 255) - 128;
        code = (code - digit) / 256;
        want.codes[static_cast<size_t>(limb * span + at)] = static_cast<int8_t>(digit ^ bias);
      }
      sum += codes[i];
    }
    want.scale.push_back(scale);
    want.code_sum.push_back(static_cast<float>(double{scale} * sum));
  }
  return want;
}

using RowFn = bool (*)(const float*, int64_t, int64_t, int64_t, int8_t, ActivationPrecision,
                       int8_t*, float*, float*);

bool avx512_row(const float* x, int64_t span, int64_t block, int64_t chunk, int8_t bias,
                ActivationPrecision, int8_t* codes, float* scale, float* code_sum) {
  return cpu::quantize_row_reduced_avx512(x, span, block, chunk, bias, codes, scale, code_sum);
}

struct Variant {
  const char* name;
  RowFn fn;
  cpu::Isa needs;
  ActivationPrecision act;
};

class QuantizeRowSimd : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!cpu::isa_available(GetParam().needs)) GTEST_SKIP() << "this CPU lacks " << GetParam().name;
  }
  ActivationPrecision act() const { return GetParam().act; }
  Row fast(const std::vector<float>& x, int64_t block, int64_t chunk, int8_t bias, bool* ok) const;
  Row want(const std::vector<float>& x, int64_t block, int64_t chunk, int8_t bias) const {
    return expected(x, block, chunk, bias, act());
  }
  // Column j's code from its limbs (bias 0, column order).
  int32_t code(const Row& r, size_t j, size_t span) const {
    int32_t c = 0;
    for (int k = 0; k < limbs(act()); ++k) c = c * 256 + r.codes[k * span + j];
    return c;
  }
};

Row QuantizeRowSimd::fast(const std::vector<float>& x, int64_t block, int64_t chunk, int8_t bias,
                          bool* ok) const {
  const int64_t span = static_cast<int64_t>(x.size()), nb = (span + block - 1) / block;
  Row got;
  got.codes.assign(x.size() * static_cast<size_t>(limbs(act())), 0);
  got.scale.assign(static_cast<size_t>(nb), -1.0f);
  got.code_sum.assign(static_cast<size_t>(nb), -1.0f);
  *ok = GetParam().fn(x.data(), span, block, chunk, bias, act(), got.codes.data(), got.scale.data(),
                      got.code_sum.data());
  return got;
}

INSTANTIATE_TEST_SUITE_P(Isas, QuantizeRowSimd,
                         ::testing::Values(Variant{"avx512", &avx512_row, cpu::Isa::kAvx512,
                                                   ActivationPrecision::kReduced},
                                           Variant{"avx2", &cpu::quantize_row_avx2, cpu::Isa::kAvx2,
                                                   ActivationPrecision::kReduced},
                                           Variant{"avx2_exact", &cpu::quantize_row_avx2,
                                                   cpu::Isa::kAvx2, ActivationPrecision::kExact}),
                         [](const ::testing::TestParamInfo<Variant>& i) {
                           return std::string(i.param.name);
                         });

TEST_P(QuantizeRowSimd, MatchesTheOracleInEveryLayout) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  for (int64_t span : {32, 96, 128, 384, 1536, 8960})
    for (int64_t block : {32, 64, 128, 256})
      for (int64_t chunk : {0, 32, 128}) {
        if (chunk == 128 && (span % 128 != 0 || block % 128 != 0)) continue;
        for (int8_t bias : {int8_t{0}, int8_t{-128}}) {
          std::vector<float> x(static_cast<size_t>(span));
          for (float& v : x) v = normal(rng) * 3.0f;
          x[0] = 0.0f;  // zeros, a block's extremes on both signs, a denormal
          x[static_cast<size_t>(span / 2)] = -40.0f;
          x[static_cast<size_t>(span - 1)] = 1e-40f;
          bool ok = false;
          const Row got = fast(x, block, chunk, bias, &ok);
          const Row want = this->want(x, block, chunk, bias);
          ASSERT_TRUE(ok);
          ASSERT_EQ(got.codes, want.codes) << span << " " << block << " " << chunk;
          ASSERT_EQ(got.scale, want.scale) << span << " " << block << " " << chunk;
          ASSERT_EQ(got.code_sum, want.code_sum) << span << " " << block << " " << chunk;
        }
      }
}

TEST_P(QuantizeRowSimd, RoundsHalfwayCodesToEvenLikeLrint) {
  // max |x| = the largest code makes inv exactly 1: every x.5 is a tie, broken to the even code.
  std::vector<float> x(64);
  for (size_t j = 0; j < x.size(); ++j) x[j] = static_cast<float>(j) - 31.5f;
  x[63] = act() == ActivationPrecision::kExact ? kExactMaxCode : kReducedMaxCode;
  bool ok = false;
  const Row got = fast(x, 64, 0, 0, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(got.codes, want(x, 64, 0, 0).codes);
  EXPECT_EQ(code(got, 0, x.size()), -32);  // -31.5 -> -32
  EXPECT_EQ(code(got, 1, x.size()), -30);  // -30.5 -> -30
  EXPECT_EQ(code(got, 32, x.size()), 0);   // 0.5 -> 0
  EXPECT_EQ(code(got, 33, x.size()), 2);   // 1.5 -> 2
  EXPECT_EQ(code(got, 63, x.size()), static_cast<int32_t>(x[63]));
}

TEST_P(QuantizeRowSimd, AnAllZeroBlockHasZeroScaleAndCodes) {
  std::vector<float> x(64, 0.0f);
  x[40] = -0.0f;
  bool ok = false;
  const Row got = fast(x, 32, 0, int8_t{-128}, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(got.scale, (std::vector<float>{0.0f, 0.0f}));
  for (int8_t c : got.codes) EXPECT_EQ(c, int8_t{-128});  // code 0 offset by 128
}

TEST_P(QuantizeRowSimd, RefusesNaNAndInfinity) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(256, 1.0f);
    x[200] = bad;
    bool ok = true;
    fast(x, 128, 128, 0, &ok);
    EXPECT_FALSE(ok) << bad;
  }
}

}  // namespace
}  // namespace fathom::kernels
