// --quantization: float checkpoints quantized at load keep the model's answers close, in the
// order of the formats' precision (int8 and fp8 nearer than int4), and a quantized checkpoint
// refuses a different format with an error that says what it holds.
#include <gtest/gtest.h>

#include <cmath>

#include "model/model.h"
#include "support/reference.h"

namespace fathom::model {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::Reference;

/// Logits of every position of the fixture's first prompt.
std::vector<float> prompt_logits(const std::string& name, Quantization q) {
  LoadOptions opts;
  opts.quantization = q;
  auto m = load_model(fixture_dir(name), opts);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  if (!m.ok()) return {};
  const auto ids = Reference(name).ids("p1.input_ids");
  ForwardBatch b;
  b.block_tables = {{0, 1, 2, 3}};
  for (int32_t i = 0; i < static_cast<int32_t>(ids.size()); ++i) {
    b.token_ids.push_back(ids[i]);
    b.positions.push_back(i);
    b.seq_idx.push_back(0);
    b.output_rows.push_back(i);
  }
  auto kv = runtime::KvStorage::allocate((*m)->kv_layout(), 4, 16);
  EXPECT_TRUE(kv.ok());
  std::vector<float> logits;
  EXPECT_TRUE((*m)->forward(b, *kv, logits).ok());
  return logits;
}

/// Mean KL(p || q) of the softmax distributions, row by row; and top-1 agreement.
struct Divergence {
  double kl = 0;
  double top1 = 0;
};

Divergence compare(const std::vector<float>& p, const std::vector<float>& q, int64_t vocab) {
  Divergence d;
  const int64_t rows = static_cast<int64_t>(p.size()) / vocab;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = p.data() + r * vocab;
    const float* b = q.data() + r * vocab;
    double ma = a[0], mb = b[0];
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      if (a[i] > ma) ma = a[i], ia = i;
      if (b[i] > mb) mb = b[i], ib = i;
    }
    double za = 0, zb = 0;
    for (int64_t i = 0; i < vocab; ++i) za += std::exp(a[i] - ma), zb += std::exp(b[i] - mb);
    for (int64_t i = 0; i < vocab; ++i) {
      const double lpa = a[i] - ma - std::log(za), lpb = b[i] - mb - std::log(zb);
      d.kl += std::exp(lpa) * (lpa - lpb);
    }
    d.top1 += ia == ib;
  }
  d.kl /= static_cast<double>(rows);
  d.top1 /= static_cast<double>(rows);
  return d;
}

class QuantizeAtLoad : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizeAtLoad, FormatsKeepTheAnswersInTheOrderOfTheirPrecision) {
  const std::string name = GetParam();
  const auto base = prompt_logits(name, Quantization::kAuto);
  ASSERT_FALSE(base.empty());
  EXPECT_EQ(prompt_logits(name, Quantization::kNone), base);  // none = the float model
  const int64_t vocab = 512;
  const Divergence int8 = compare(base, prompt_logits(name, Quantization::kInt8), vocab);
  const Divergence fp8 = compare(base, prompt_logits(name, Quantization::kFp8), vocab);
  const Divergence int4 = compare(base, prompt_logits(name, Quantization::kInt4), vocab);
  RecordProperty("kl_int8", std::to_string(int8.kl));
  RecordProperty("kl_fp8", std::to_string(fp8.kl));
  RecordProperty("kl_int4", std::to_string(int4.kl));
  EXPECT_GT(int8.kl, 0.0);  // the weights really changed
  EXPECT_LT(int8.kl, int4.kl);
  EXPECT_LT(fp8.kl, int4.kl);
  // Random tiny models have flat distributions (top-1 flips easily); their KL stays small.
  EXPECT_LT(int8.kl, 1e-2);
  EXPECT_GE(int8.top1, 0.5);
  EXPECT_LT(int4.kl, 0.5);  // tiny random models: 64-wide rows, one 4-bit group each
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QuantizeAtLoad,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v3"));

TEST(QuantizeAtLoad, AQuantizedCheckpointRefusesAnotherFormat) {
  LoadOptions opts;
  opts.quantization = Quantization::kInt8;
  auto m = load_model(fixture_dir("qwen2_gptq"), opts);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("gptq"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("use --quantization auto or int4"), std::string::npos);
  opts.quantization = Quantization::kNone;
  EXPECT_FALSE(load_model(fixture_dir("qwen2_gptq"), opts).ok());
  for (Quantization ok : {Quantization::kAuto, Quantization::kInt4}) {
    opts.quantization = ok;
    EXPECT_TRUE(load_model(fixture_dir("qwen2_gptq"), opts).ok()) << quantization_name(ok);
  }
  opts.quantization = Quantization::kInt8;
  EXPECT_TRUE(load_model(fixture_dir("qwen2_int8"), opts).ok());
}

TEST(QuantizeAtLoad, ParsesTheFlagsValues) {
  for (const char* s : {"auto", "none", "int8", "int4", "fp8"}) {
    auto q = parse_quantization(s);
    ASSERT_TRUE(q.ok()) << s;
    EXPECT_STREQ(quantization_name(*q), s);
  }
  auto bad = parse_quantization("int3");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("auto, none, int8, int4, fp8"), std::string::npos);
}

TEST(ActivationPrecision, ParsesTheFlagsValues) {
  for (const char* s : {"exact", "reduced"}) {
    auto a = parse_activation_precision(s);
    ASSERT_TRUE(a.ok()) << s;
    EXPECT_STREQ(kernels::activation_precision_name(*a), s);
  }
  auto bad = parse_activation_precision("int8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("exact, reduced"), std::string::npos);
}

}  // namespace
}  // namespace fathom::model
