// load_linear + dequantize_row reproduce, bit for bit, what the reference packers
// (tests/data/quant/quantpack.py, via make_quant_fixtures.py) say each stored format means.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/checkpoint.h"
#include "formats/safetensors.h"
#include "kernels/linear.h"
#include "model/linear_loader.h"
#include "model/quant_config.h"

namespace fathom::model {
namespace {

using kernels::WeightFormat;

struct FixtureCase {
  const char* dir;
  WeightFormat format;
};

const FixtureCase kCases[] = {
    {"gptq_sym_v1", WeightFormat::kInt4Grouped},
    {"gptq_asym_v2", WeightFormat::kInt4Grouped},
    {"gptq_asym_v1_wrap", WeightFormat::kInt4Grouped},
    {"gptq_sym_descact_v1", WeightFormat::kInt4Grouped},
    {"gptq_asym_descact_v2", WeightFormat::kInt4Grouped},
    {"gptq_rowgroup_v2", WeightFormat::kInt4Grouped},
    {"awq_gemm_g32", WeightFormat::kInt4Grouped},
    {"awq_gemm_grow", WeightFormat::kInt4Grouped},
    {"fp8_block_16x16", WeightFormat::kFp8Block},
    {"fp8_block_128x128", WeightFormat::kFp8Block},
    {"fp8_block_8x24", WeightFormat::kFp8Block},
    {"int8_int_quantized", WeightFormat::kInt8Channel},
    {"int8_pack_quantized", WeightFormat::kInt8Channel},
    {"int8_int_quantized_f16_in90", WeightFormat::kInt8Channel},
    {"int8_pack_quantized_f32_in90", WeightFormat::kInt8Channel},
};

class LinearFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(LinearFixture, DequantizeRowIsBitExact) {
  const FixtureCase c = GetParam();
  const std::string dir = std::string("tests/data/quant/") + c.dir;

  std::ifstream cfg_file(dir + "/config.json");
  ASSERT_TRUE(cfg_file) << dir << "/config.json";
  const nlohmann::json cfg = nlohmann::json::parse(cfg_file, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(cfg.is_discarded());
  auto qc = parse_quant_config(cfg);
  ASSERT_TRUE(qc.ok()) << qc.status().to_string();
  const std::string prefix = cfg.value("fathom_test_prefix", "");

  auto expected_file = formats::SafetensorsFile::open(dir + "/expected.safetensors");
  ASSERT_TRUE(expected_file.ok()) << expected_file.status().to_string();
  const formats::TensorView* want = nullptr;
  for (const auto& t : expected_file->tensors())
    if (t.name == "dequant_fp32") want = &t;
  ASSERT_NE(want, nullptr);
  ASSERT_EQ(want->dtype, DType::kF32);
  const int64_t out = want->dim(0), in = want->dim(1);

  auto ck = formats::Checkpoint::open(dir);
  ASSERT_TRUE(ck.ok()) << ck.status().to_string();
  auto w = load_linear(*ck, prefix, *qc, out, in);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->format, c.format) << kernels::weight_format_name(w->format);
  if (qc->desc_act) {
    // Act-order groups are made contiguous by a permutation, not left scattered.
    EXPECT_NE(w->input_perm, nullptr);
    EXPECT_EQ(w->group_idx, nullptr);
  }

  std::vector<float> row(static_cast<size_t>(in));
  int64_t num_diff = 0;
  for (int64_t o = 0; o < out; ++o) {
    kernels::dequantize_row(*w, o, row.data());
    const float* expect = want->as<float>() + o * in;
    for (int64_t i = 0; i < in; ++i) {
      if (std::memcmp(&row[i], &expect[i], sizeof(float)) == 0) continue;
      if (num_diff++ < 5)
        ADD_FAILURE() << c.dir << ": W[" << o << ", " << i << "] = " << row[i] << " expected "
                      << expect[i];
    }
  }
  EXPECT_EQ(num_diff, 0);

  // And the fast kernel on the loaded weight agrees with x . dequant^T.
  std::vector<float> x(static_cast<size_t>(3 * in));
  for (size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>((k * 37) % 19) / 9.0f - 1.0f;
  std::vector<float> y(static_cast<size_t>(3 * out));
  ThreadPool pool(2);
  kernels::linear_cpu(*w, x.data(), 3, y.data(), pool);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0, mag = 0;
      for (int64_t i = 0; i < in; ++i) {
        const double p = double{x[r * in + i]} * want->as<float>()[o * in + i];
        acc += p;
        mag += std::abs(p);
      }
      EXPECT_NEAR(y[r * out + o], acc, 1e-5 * mag + 1e-12) << "y[" << r << ", " << o << "]";
    }
}

INSTANTIATE_TEST_SUITE_P(Quantpack, LinearFixture, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<FixtureCase>& param) {
                           return std::string(param.param.dir);
                         });

}  // namespace
}  // namespace fathom::model
