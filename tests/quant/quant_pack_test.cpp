// fathom quantize's packers and round-to-nearest grids against quantpack.py, the reference
// packers (tests/data/quant/make_pack_expected.py wrote what they make of one weight).
#include "quant/quant_pack.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "formats/safetensors.h"

namespace fathom::quant {
namespace {

class QuantPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = formats::SafetensorsFile::open("tests/data/quant/pack_expected/expected.safetensors");
    ASSERT_TRUE(f.ok()) << f.status().message();
    file_ = std::make_unique<formats::SafetensorsFile>(std::move(*f));
    const formats::TensorView* w = find("weight");
    ASSERT_NE(w, nullptr);
    out_ = w->dim(0);
    in_ = w->dim(1);
    w_.assign(w->as<float>(), w->as<float>() + w->numel());
  }

  const formats::TensorView* find(const std::string& name) const {
    for (const auto& t : file_->tensors())
      if (t.name == name) return &t;
    return nullptr;
  }

  /// Every packed tensor equals the reference's: name, dtype, shape and bytes.
  void expect_same(const std::vector<formats::OwnedTensor>& got, size_t want_count) {
    EXPECT_EQ(got.size(), want_count);
    for (const formats::OwnedTensor& t : got) {
      const formats::TensorView* want = find(t.name);
      ASSERT_NE(want, nullptr) << t.name;
      EXPECT_EQ(dtype_name(t.dtype), std::string(dtype_name(want->dtype))) << t.name;
      EXPECT_EQ(t.shape, want->shape) << t.name;
      ASSERT_EQ(static_cast<int64_t>(t.bytes.size()), want->size_bytes) << t.name;
      EXPECT_EQ(std::memcmp(t.bytes.data(), want->data, t.bytes.size()), 0) << t.name;
    }
  }

  template <typename T>
  std::vector<T> values(const std::string& name) const {
    const formats::TensorView* t = find(name);
    EXPECT_NE(t, nullptr) << name;
    if (!t) return {};
    return std::vector<T>(t->as<T>(), t->as<T>() + t->numel());
  }

  std::unique_ptr<formats::SafetensorsFile> file_;
  int64_t out_ = 0, in_ = 0;
  std::vector<float> w_;
};

TEST_F(QuantPackTest, RoundToNearestGptqEqualsAutoGptqLayout) {
  GroupQuantParams p;
  p.group_size = 32;
  expect_same(pack_gptq("rtn_gptq", rtn_quantize(w_.data(), out_, in_, p), true), 4);
}

TEST_F(QuantPackTest, RoundToNearestAwqEqualsAutoAwqGemmLayout) {
  GroupQuantParams p;
  p.group_size = 32;
  p.rule = GridRule::kAwq;
  expect_same(pack_awq("rtn_awq", rtn_quantize(w_.data(), out_, in_, p)), 3);
}

TEST_F(QuantPackTest, Int8EqualsCompressedTensorsPackQuantized) {
  expect_same(pack_int8("int8", int8_channel_quantize(w_.data(), out_, in_)), 3);
}

TEST_F(QuantPackTest, ActOrderGroupIndexPacksAsGptqModel) {
  GroupQuantized q;
  q.out_features = out_;
  q.in_features = in_;
  q.group_size = 32;
  q.num_groups = 2;
  for (int32_t v : values<int32_t>("act.q")) q.q.push_back(static_cast<uint8_t>(v));
  q.scales = values<uint16_t>("act.scales");
  q.zeros = values<int32_t>("act.zeros");
  q.g_idx = values<int32_t>("act.g_idx");
  expect_same(pack_gptq("act_packed", q, true), 4);
}

TEST(F16Test, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16_bits(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16_bits(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16_bits(1.0f + 1.0f / 2048.0f), 0x3C00);  // tie -> even
  EXPECT_EQ(f32_to_f16_bits(1.0f + 3.0f / 2048.0f), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16_bits(5.96046448e-08f), 0x0001);        // smallest subnormal
}

}  // namespace
}  // namespace fathom::quant
