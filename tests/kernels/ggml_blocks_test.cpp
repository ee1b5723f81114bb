// GGML block formats: hand-built blocks whose expected values are computed here from the format
// definitions (ggml-common.h's block structs and the dequantization formulas of llama.cpp's
// ggml-quants.c / gguf-py's quants.py, read, not copied), round-trip error bounds of the
// quantizers, and linear_cpu against linear_ref on kGgml weights on every instruction-set path.
#include "kernels/ggml_blocks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/ggml_int.h"
#include "kernels/linear.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

// The IQ4_NL / IQ4_XS code book as the format defines it.
constexpr float kIq4[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                            1,    13,   25,  38,  53,  69,  89,  113};

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) { std::memcpy(&b[at], &v, 2); }

std::vector<float> dequantize(GgmlType t, const std::vector<uint8_t>& b) {
  std::vector<float> y(
      static_cast<size_t>(b.size() / ggml_block_bytes(t) * ggml_block_elements(t)));
  ggml_dequantize(t, b.data(), static_cast<int64_t>(y.size()), y.data());
  return y;
}

constexpr uint16_t kHalf0_125 = 0x3000, kHalf0_25 = 0x3400, kHalf0_5 = 0x3800, kHalf1 = 0x3C00,
                   kHalf2 = 0x4000, kHalfMinus1 = 0xBC00;

TEST(GgmlBlocksTest, Q8_0) {
  std::vector<uint8_t> b(34);
  put16(b, 0, kHalf0_5);
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
  const auto y = dequantize(GgmlType::kQ8_0, b);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], (j - 16) * 0.5f) << j;
}

TEST(GgmlBlocksTest, Q4_0AndQ4_1) {
  std::vector<uint8_t> b(18);
  put16(b, 0, kHalf0_25);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  auto y = dequantize(GgmlType::kQ4_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.25f);
    EXPECT_EQ(y[j + 16], (15 - j - 8) * 0.25f);
  }
  std::vector<uint8_t> c(20);
  put16(c, 0, kHalf0_5);
  put16(c, 2, kHalfMinus1);
  for (int j = 0; j < 16; ++j) c[4 + j] = static_cast<uint8_t>(j | (j << 4));
  y = dequantize(GgmlType::kQ4_1, c);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.5f - 1.0f);
    EXPECT_EQ(y[j + 16], j * 0.5f - 1.0f);
  }
}

TEST(GgmlBlocksTest, Q5_0AndQ5_1HighBits) {
  // Q5_0: bit j of qh is element j's fifth bit; elements 16..31 have it set here.
  std::vector<uint8_t> b(22);
  put16(b, 0, kHalf1);
  const uint32_t qh = 0xFFFF0000u;
  std::memcpy(&b[2], &qh, 4);
  for (int j = 0; j < 16; ++j) b[6 + j] = static_cast<uint8_t>(j | (j << 4));
  auto y = dequantize(GgmlType::kQ5_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], static_cast<float>(j - 16));
    EXPECT_EQ(y[j + 16], static_cast<float>(j + 16 - 16));
  }
  std::vector<uint8_t> c(24);
  put16(c, 0, kHalf1);
  put16(c, 2, kHalf0_5);
  const uint32_t qh1 = 0x0000FFFFu;
  std::memcpy(&c[4], &qh1, 4);
  for (int j = 0; j < 16; ++j) c[8 + j] = static_cast<uint8_t>(j | (j << 4));
  y = dequantize(GgmlType::kQ5_1, c);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j + 16 + 0.5f);
    EXPECT_EQ(y[j + 16], j + 0.5f);
  }
}

TEST(GgmlBlocksTest, Iq4Nl) {
  std::vector<uint8_t> b(18);
  put16(b, 0, kHalf2);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize(GgmlType::kIQ4_NL, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2 * kIq4[j]);
    EXPECT_EQ(y[j + 16], 2 * kIq4[15 - j]);
  }
}

// The 2-bit planes of Q2_K and Q3_K: element e's bits at byte e/128*32 + e%32, shift 2*(e%128/32).
void put_2bit(std::vector<uint8_t>& b, size_t at, int e, int v) {
  b[at + e / 128 * 32 + e % 32] |= static_cast<uint8_t>(v << (2 * (e % 128 / 32)));
}

TEST(GgmlBlocksTest, Q2_K) {
  std::vector<uint8_t> b(84, 0);
  for (int s = 0; s < 16; ++s)
    b[s] = static_cast<uint8_t>((s % 16) | ((15 - s) << 4));  // scale | min << 4
  for (int e = 0; e < 256; ++e) put_2bit(b, 16, e, e % 4);
  put16(b, 80, kHalf0_5);
  put16(b, 82, kHalf0_125);
  const auto y = dequantize(GgmlType::kQ2_K, b);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 16;
    EXPECT_EQ(y[e], 0.5f * static_cast<float>(s) * static_cast<float>(e % 4) -
                        0.125f * static_cast<float>(15 - s))
        << e;
  }
}

TEST(GgmlBlocksTest, Q3_K) {
  std::vector<uint8_t> b(110, 0);
  // 16 six-bit scales stored + 32: low nibbles in bytes 0..7 (sub-blocks 0..7 low, 8..15 high
  // nibble), high 2 bits of sub-block s in byte 8 + s % 4 at bit 2 * (s / 4).
  int stored[16];
  for (int s = 0; s < 16; ++s) {
    stored[s] = (s * 9 + 5) % 64;
    if (s < 8)
      b[96 + s] |= static_cast<uint8_t>(stored[s] & 0xF);
    else
      b[96 + s - 8] |= static_cast<uint8_t>((stored[s] & 0xF) << 4);
    b[96 + 8 + s % 4] |= static_cast<uint8_t>((stored[s] >> 4) << (2 * (s / 4)));
  }
  for (int e = 0; e < 256; ++e) {
    const int level = (e * 5) % 8;  // value level - 4: low 2 bits, and the high bit in hmask
    put_2bit(b, 32, e, level & 3);
    if (level >= 4) b[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
  }
  put16(b, 108, kHalf0_25);
  const auto y = dequantize(GgmlType::kQ3_K, b);
  for (int e = 0; e < 256; ++e)
    EXPECT_EQ(y[e],
              0.25f * static_cast<float>(stored[e / 16] - 32) * static_cast<float>((e * 5) % 8 - 4))
        << e;
}

// Q4_K / Q5_K's 12 bytes of eight 6-bit scales and mins: sub-blocks 0..3 in the low 6 bits of
// bytes 0..3 (scale) and 4..7 (min); sub-blocks 4..7 with their low nibbles in bytes 8..11 and
// their high 2 bits in the top bits of bytes 0..3 (scale) and 4..7 (min).
void put_k4_scales(std::vector<uint8_t>& b, size_t at, const int* sc, const int* mn) {
  for (int s = 0; s < 8; ++s) {
    if (s < 4) {
      b[at + s] |= static_cast<uint8_t>(sc[s]);
      b[at + s + 4] |= static_cast<uint8_t>(mn[s]);
    } else {
      b[at + s + 4] = static_cast<uint8_t>((sc[s] & 0xF) | ((mn[s] & 0xF) << 4));
      b[at + s - 4] |= static_cast<uint8_t>((sc[s] >> 4) << 6);
      b[at + s] |= static_cast<uint8_t>((mn[s] >> 4) << 6);
    }
  }
}

TEST(GgmlBlocksTest, Q4_KAndQ5_K) {
  int sc[8], mn[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = 10 + 7 * s;  // up to 59: the high bits matter
    mn[s] = 3 + 8 * s;
  }
  auto code = [](int e) { return (e * 7) % 16; };
  auto high = [](int e) { return (e / 3) % 2; };
  std::vector<uint8_t> b(144, 0);
  put16(b, 0, kHalf0_5);
  put16(b, 2, kHalf0_25);
  put_k4_scales(b, 4, sc, mn);
  // 64 elements per 32 bytes of codes: the first 32 in the low nibbles, the next 32 in the high.
  for (int e = 0; e < 256; ++e)
    b[16 + e / 64 * 32 + e % 32] |= static_cast<uint8_t>(code(e) << (4 * (e % 64 / 32)));
  auto y = dequantize(GgmlType::kQ4_K, b);
  for (int e = 0; e < 256; ++e)
    EXPECT_EQ(y[e], 0.5f * static_cast<float>(sc[e / 32]) * static_cast<float>(code(e)) -
                        0.25f * static_cast<float>(mn[e / 32]))
        << e;

  std::vector<uint8_t> c(176, 0);
  put16(c, 0, kHalf0_5);
  put16(c, 2, kHalf0_25);
  put_k4_scales(c, 4, sc, mn);
  for (int e = 0; e < 256; ++e) {
    c[48 + e / 64 * 32 + e % 32] |= static_cast<uint8_t>(code(e) << (4 * (e % 64 / 32)));
    // Fifth bit of element e: qh[e % 32], bit 2 * (e / 64) + (e % 64 / 32).
    if (high(e)) c[16 + e % 32] |= static_cast<uint8_t>(1 << (2 * (e / 64) + e % 64 / 32));
  }
  y = dequantize(GgmlType::kQ5_K, c);
  for (int e = 0; e < 256; ++e)
    EXPECT_EQ(y[e],
              0.5f * static_cast<float>(sc[e / 32]) * static_cast<float>(code(e) + 16 * high(e)) -
                  0.25f * static_cast<float>(mn[e / 32]))
        << e;
}

TEST(GgmlBlocksTest, Q6_K) {
  std::vector<uint8_t> b(210, 0);
  auto q = [](int e) { return (e * 11) % 64; };  // stored 6-bit code; value q - 32
  // Per 128 elements: 64 bytes of low nibbles (elements l and l + 64 share byte l, l + 32 and
  // l + 96 share byte l + 32) and 32 bytes of high 2-bit pairs (l, l+32, l+64, l+96 in bits 0..7).
  for (int e = 0; e < 256; ++e) {
    const int n = e / 128, r = e % 128, l = r % 32, quarter = r / 32;
    const int ql = n * 64 + l + (quarter % 2) * 32;
    b[ql] |= static_cast<uint8_t>((q(e) & 0xF) << (4 * (quarter / 2)));
    b[128 + n * 32 + l] |= static_cast<uint8_t>((q(e) >> 4) << (2 * quarter));
  }
  for (int s = 0; s < 16; ++s) b[192 + s] = static_cast<uint8_t>(static_cast<int8_t>(s * 9 - 70));
  put16(b, 208, kHalf0_125);
  const auto y = dequantize(GgmlType::kQ6_K, b);
  for (int e = 0; e < 256; ++e)
    EXPECT_EQ(y[e], 0.125f * static_cast<float>((e / 16) * 9 - 70) * static_cast<float>(q(e) - 32))
        << e;
}

TEST(GgmlBlocksTest, Iq4Xs) {
  std::vector<uint8_t> b(136, 0);
  put16(b, 0, kHalf0_5);
  uint16_t scales_h = 0;
  int ls[8];
  for (int s = 0; s < 8; ++s) {
    ls[s] = 5 + 7 * s;  // 6 bits, value ls - 32
    b[4 + s / 2] |= static_cast<uint8_t>((ls[s] & 0xF) << (4 * (s % 2)));
    scales_h = static_cast<uint16_t>(scales_h | ((ls[s] >> 4) << (2 * s)));
  }
  put16(b, 2, scales_h);
  for (int s = 0; s < 8; ++s)
    for (int j = 0; j < 16; ++j) b[8 + 16 * s + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto y = dequantize(GgmlType::kIQ4_XS, b);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32, j = e % 16;
    const float v = e % 32 < 16 ? kIq4[j] : kIq4[15 - j];
    EXPECT_EQ(y[e], 0.5f * static_cast<float>(ls[s] - 32) * v) << e;
  }
}

TEST(GgmlBlocksTest, FloatTypes) {
  const std::vector<float> x = {1.0f, -2.5f, 3.140625f, 0.0f};
  for (GgmlType t : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16}) {
    std::vector<uint8_t> b(static_cast<size_t>(ggml_row_bytes(t, 4)));
    ggml_quantize(t, x.data(), 4, b.data());
    EXPECT_EQ(dequantize(t, b), x) << ggml_type_name(t);  // all exactly representable
  }
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);                          // rounds to infinity
  EXPECT_EQ(f16_to_f32(f32_to_f16(5.9604645e-8f)), 5.9604645e-8f);  // smallest subnormal
}

// Largest round-trip error of the round-to-nearest quantizers, as a fraction of the largest
// magnitude in the row: about half a step of each type (a few types reach a whole step where
// the positive extreme is clamped), plus f16 rounding of the scales.
float round_trip_bound(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 0.0f;
    case GgmlType::kF16:
      return 1e-3f;
    case GgmlType::kBF16:
      return 4e-3f;
    case GgmlType::kQ8_0:
      return 0.0045f;
    case GgmlType::kQ6_K:
      return 0.035f;
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ5_K:
      return 0.07f;
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ4_K:
      return 0.14f;
    case GgmlType::kIQ4_NL:
    case GgmlType::kIQ4_XS:
      return 0.16f;
    case GgmlType::kQ3_K:
      return 0.3f;
    case GgmlType::kQ2_K:
      return 0.5f;
  }
  return 0.0f;
}

TEST(GgmlBlocksTest, QuantizersRoundTripWithinAboutHalfAStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(1024);
  for (float& v : x) v = normal(rng);
  float amax = 0;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  for (GgmlType t : kGgmlTypes) {
    std::vector<uint8_t> b(static_cast<size_t>(ggml_row_bytes(t, 1024)));
    ggml_quantize(t, x.data(), 1024, b.data());
    const auto y = dequantize(t, b);
    float err = 0;
    for (size_t i = 0; i < x.size(); ++i) err = std::max(err, std::fabs(y[i] - x[i]));
    EXPECT_LE(err, round_trip_bound(t) * amax) << ggml_type_name(t);
  }
}

TEST(GgmlBlocksTest, LinearCpuMatchesTheReferenceOnEveryPath) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t out = 37, in = 512;
  std::vector<float> w(static_cast<size_t>(out * in));
  for (float& v : w) v = normal(rng);
  ThreadPool pool(3);
  for (GgmlType t : kGgmlTypes) {
    std::vector<uint8_t> blocks(static_cast<size_t>(out * ggml_row_bytes(t, in)));
    for (int64_t o = 0; o < out; ++o)
      ggml_quantize(t, w.data() + o * in, in, blocks.data() + o * ggml_row_bytes(t, in));
    LinearWeight lw;
    lw.format = WeightFormat::kGgml;
    lw.ggml_type = t;
    lw.out_features = out;
    lw.in_features = in;
    lw.values = blocks.data();
    EXPECT_EQ(lw.size_bytes(), static_cast<int64_t>(blocks.size()));
    for (int64_t rows : {1, 3, 9, 200}) {
      std::vector<float> x(static_cast<size_t>(rows * in)), want(static_cast<size_t>(rows * out)),
          got(want.size());
      for (float& v : x) v = normal(rng);
      linear_ref(lw, x.data(), rows, want.data());
      for (cpu::Isa isa : {cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512}) {
        if (!cpu::isa_available(isa)) continue;
        cpu::linear_cpu_isa(lw, x.data(), rows, got.data(), pool, isa);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-4f * (1.0f + std::fabs(want[i])))
              << ggml_type_name(t) << " rows " << rows << " " << cpu::isa_name(isa) << " at " << i;
      }
    }
    // dequantize_row is the format's definition row by row.
    std::vector<float> row(static_cast<size_t>(in)), direct(static_cast<size_t>(in));
    dequantize_row(lw, 5, row.data());
    ggml_dequantize(t, blocks.data() + 5 * ggml_row_bytes(t, in), in, direct.data());
    EXPECT_EQ(row, direct);
  }
}

// The block types with an integer form (ggml_int.h) and, all but Q5_K, a SIMD dequantizer
// (ggml_dequantize_isa falls back to the reference for Q5_K), and where their f16 fields sit.
struct HalfFields {
  GgmlType type;
  std::vector<size_t> offsets;  // of the f16 fields within a block
};
const HalfFields kHalfFields[] = {{GgmlType::kQ8_0, {0}},    {GgmlType::kQ4_0, {0}},
                                  {GgmlType::kQ5_0, {0}},    {GgmlType::kQ4_K, {0, 2}},
                                  {GgmlType::kQ5_K, {0, 2}}, {GgmlType::kQ6_K, {208}}};

// `blocks` blocks of type t of random bytes (every code, scale and min pattern), their f16 fields
// finite (no NaN payloads), every fifth block's a thousand times smaller.
std::vector<uint8_t> random_blocks(GgmlType t, const std::vector<size_t>& halves, int64_t blocks,
                                   std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> unit(-4.0f, 4.0f);
  const int64_t bb = ggml_block_bytes(t);
  std::vector<uint8_t> src(static_cast<size_t>(blocks * bb));
  for (uint8_t& b : src) b = static_cast<uint8_t>(byte(rng));
  for (int64_t k = 0; k < blocks; ++k)
    for (size_t at : halves)
      put16(src, static_cast<size_t>(k * bb) + at,
            f32_to_f16(unit(rng) * (k % 5 == 4 ? 1e-3f : 1.0f)));
  return src;
}

// The SIMD dequantizers (cpu/ggml_dequant_simd.h) on every instruction set the CPU has, against
// the reference on blocks of random bytes (every code, scale and min pattern; f16 fields drawn
// finite so that NaN payloads do not enter): the same float32 bits.
TEST(GgmlBlocksTest, SimdDequantizersAreBitExact) {
  std::mt19937 rng(23);
  for (const auto& [t, halves] : kHalfFields) {
    const int64_t blocks = 37, n = blocks * ggml_block_elements(t);
    const std::vector<uint8_t> src = random_blocks(t, halves, blocks, rng);
    std::vector<float> want(static_cast<size_t>(n)), got(want.size());
    ggml_dequantize(t, src.data(), n, want.data());
    for (cpu::Isa isa : {cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512, cpu::Isa::kNeon}) {
      if (!cpu::isa_available(isa)) continue;
      std::fill(got.begin(), got.end(), -1.0f);
      cpu::ggml_dequantize_isa(isa, t, src.data(), n, got.data());
      for (int64_t i = 0; i < n; ++i) {
        uint32_t a, b;
        std::memcpy(&a, &got[i], 4);
        std::memcpy(&b, &want[i], 4);
        ASSERT_EQ(a, b) << ggml_type_name(t) << " " << cpu::isa_name(isa) << " element " << i
                        << ": " << got[i] << " vs " << want[i];
      }
    }
  }
}

// The integer form (ggml_int.h, what linear_ref_reduced and the integer kernels read) is the
// dequantized block: d * scale * q - dmin * min equals ggml_dequantize's value up to the fp32
// rounding of its products, on blocks of random bytes (every code, scale and min pattern).
TEST(GgmlBlocksTest, IntegerFormIsTheDequantizedBlock) {
  std::mt19937 rng(29);
  for (GgmlType t : kGgmlTypes) {
    bool listed = false;
    for (const auto& h : kHalfFields) listed = listed || h.type == t;
    EXPECT_EQ(ggml_int_type(t), listed) << ggml_type_name(t);
  }
  for (const auto& [t, halves] : kHalfFields) {
    const int64_t n = ggml_block_elements(t);
    std::vector<float> want(static_cast<size_t>(n));
    GgmlIntBlock ib;
    for (int rep = 0; rep < 50; ++rep) {
      const std::vector<uint8_t> src = random_blocks(t, halves, 1, rng);
      ggml_dequantize(t, src.data(), n, want.data());
      ggml_int_block(t, src.data(), &ib);
      for (int64_t j = 0; j < n; ++j) {
        const double got = double{ib.d} * ib.scale[j] * ib.q[j] - double{ib.dmin} * ib.min[j];
        const double mag = std::fabs(double{ib.d} * ib.scale[j] * ib.q[j]) +
                           std::fabs(double{ib.dmin} * ib.min[j]);
        ASSERT_NEAR(got, want[j], 1e-6 * mag) << ggml_type_name(t) << " element " << j;
      }
    }
  }
}

}  // namespace
}  // namespace fathom::kernels
