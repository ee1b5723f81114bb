// parse_quant_config: every supported method, and clear errors naming the field otherwise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/quant_config.h"

namespace fathom::model {
namespace {

using nlohmann::json;

Result<QuantConfig> parse(const std::string& quantization_config) {
  return parse_quant_config(
      json::parse(R"({"hidden_size": 8, "quantization_config": )" + quantization_config + "}"));
}

void expect_error(const Result<QuantConfig>& r, Code code, const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << r.status().message() << "\nshould contain: " << needle;
}

TEST(QuantConfig, AbsentOrNullMeansNone) {
  auto a = parse_quant_config(json::parse(R"({"hidden_size": 8})"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->method, QuantMethod::kNone);
  auto b = parse("null");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->method, QuantMethod::kNone);
}

TEST(QuantConfig, DeepSeekFp8) {
  auto r = parse(R"({"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                     "weight_block_size": [128, 64]})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->method, QuantMethod::kFp8Block);
  EXPECT_EQ(r->block_out, 128);
  EXPECT_EQ(r->block_in, 64);
  EXPECT_STREQ(quant_method_name(r->method), "fp8");
}

TEST(QuantConfig, Fp8Errors) {
  expect_error(parse(R"({"quant_method": "fp8", "fmt": "e5m2", "weight_block_size": [128, 128]})"),
               Code::kUnimplemented, "config.json: quantization_config.fmt: 'e5m2' is not supported");
  expect_error(parse(R"({"quant_method": "fp8", "activation_scheme": "static",
                         "weight_block_size": [128, 128]})"),
               Code::kUnimplemented, "quantization_config.activation_scheme: 'static'");
  expect_error(parse(R"({"quant_method": "fp8"})"), Code::kUnimplemented,
               "quantization_config.weight_block_size: is required");
  expect_error(parse(R"({"quant_method": "fp8", "weight_block_size": [128, 0]})"),
               Code::kInvalidArgument, "quantization_config.weight_block_size: [128,0] is not valid");
  expect_error(parse(R"({"quant_method": "fp8", "weight_block_size": 128})"),
               Code::kInvalidArgument, "expected [block_out, block_in]");
}

TEST(QuantConfig, Gptq) {
  auto r = parse(R"({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": true,
                     "sym": false, "checkpoint_format": "gptq_v2", "lm_head": false})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->method, QuantMethod::kGptq);
  EXPECT_EQ(r->bits, 4);
  EXPECT_EQ(r->group_size, 128);
  EXPECT_TRUE(r->desc_act);
  EXPECT_FALSE(r->sym);
  EXPECT_TRUE(r->gptq_v2);

  auto v1 = parse(R"({"quant_method": "gptq", "bits": 4, "group_size": -1})");
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->gptq_v2);
  EXPECT_EQ(v1->group_size, -1);
  EXPECT_FALSE(v1->desc_act);
}

TEST(QuantConfig, GptqErrorsNameTheField) {
  auto r = parse(R"({"quant_method": "gptq", "bits": 3, "group_size": 128})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "config.json: quantization_config.bits: 3 is not supported (4 only for gptq)");
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  expect_error(parse(R"({"quant_method": "gptq", "bits": 4, "group_size": 0})"),
               Code::kInvalidArgument, "quantization_config.group_size: 0 is not valid");
  expect_error(parse(R"({"quant_method": "gptq", "bits": 4, "checkpoint_format": "marlin"})"),
               Code::kUnimplemented, "quantization_config.checkpoint_format: 'marlin'");
  expect_error(parse(R"({"quant_method": "gptq", "bits": 4, "is_marlin_format": true})"),
               Code::kUnimplemented, "quantization_config.is_marlin_format: true is not supported");
  expect_error(parse(R"({"quant_method": "gptq", "bits": "4"})"), Code::kInvalidArgument,
               "quantization_config.bits: expected an integer, got \"4\"");
  expect_error(parse(R"({"quant_method": "gptq"})"), Code::kInvalidArgument,
               "quantization_config.bits: is required");
  expect_error(parse(R"({"quant_method": "gptq", "bits": 4, "desc_act": "yes"})"),
               Code::kInvalidArgument, "quantization_config.desc_act: expected true or false");
}

TEST(QuantConfig, ReportsEveryProblemAtOnce) {
  auto r = parse(R"({"quant_method": "gptq", "bits": 8, "group_size": -7, "sym": 1})");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("quantization_config.bits: 8"), std::string::npos) << m;
  EXPECT_NE(m.find("quantization_config.group_size: -7"), std::string::npos) << m;
  EXPECT_NE(m.find("quantization_config.sym: expected true or false"), std::string::npos) << m;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);  // not all problems are "unsupported"
}

TEST(QuantConfig, Awq) {
  auto r = parse(R"({"quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": true,
                     "version": "GEMM", "modules_to_not_convert": ["visual"]})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->method, QuantMethod::kAwq);
  EXPECT_EQ(r->group_size, 64);
  EXPECT_TRUE(r->is_ignored("visual"));

  auto alias = parse(R"({"quant_method": "awq", "w_bit": 4, "q_group_size": 32})");
  ASSERT_TRUE(alias.ok()) << alias.status().to_string();
  EXPECT_EQ(alias->bits, 4);
  EXPECT_EQ(alias->group_size, 32);

  expect_error(parse(R"({"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemv"})"),
               Code::kUnimplemented,
               "config.json: quantization_config.version: 'gemv' is not supported (gemm only)");
  expect_error(parse(R"({"quant_method": "awq", "bits": 4, "zero_point": false})"),
               Code::kUnimplemented, "quantization_config.zero_point: false");
  expect_error(parse(R"({"quant_method": "awq", "bits": 8})"), Code::kUnimplemented,
               "quantization_config.bits: 8 is not supported (4 only for awq)");
}

const char* kCompressed = R"({
  "quant_method": "compressed-tensors", "format": "pack-quantized",
  "quantization_status": "compressed",
  "config_groups": {"group_0": {"targets": ["Linear"],
    "weights": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "channel",
                "group_size": null, "dynamic": false, "actorder": null},
    "input_activations": null, "output_activations": null}},
  "ignore": ["lm_head", "re:.*mlp\\.gate$"], "kv_cache_scheme": null, "sparsity_config": {}})";

TEST(QuantConfig, CompressedTensorsInt8) {
  auto r = parse(kCompressed);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->method, QuantMethod::kCompressedTensors);
  EXPECT_EQ(r->format, "pack-quantized");
  EXPECT_EQ(r->num_bits, 8);
  EXPECT_TRUE(r->is_ignored("lm_head"));
  EXPECT_TRUE(r->is_ignored("model.lm_head"));
  EXPECT_TRUE(r->is_ignored("model.layers.1.mlp.gate"));
  EXPECT_FALSE(r->is_ignored("model.layers.1.mlp.gate_proj"));
  EXPECT_FALSE(r->is_ignored("model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(r->is_ignored("xlm_head"));
}

TEST(QuantConfig, CompressedTensorsErrors) {
  std::string four = kCompressed;
  four.replace(four.find("\"num_bits\": 8"), 13, "\"num_bits\": 4");
  expect_error(parse(four), Code::kUnimplemented,
               "config.json: quantization_config.config_groups.group_0.weights.num_bits: 4 is "
               "not supported (8 only for compressed-tensors)");
  std::string grouped = kCompressed;
  grouped.replace(grouped.find("\"channel\""), 9, "\"group\"");
  expect_error(parse(grouped), Code::kUnimplemented,
               "config_groups.group_0.weights.strategy: 'group' is not supported");
  std::string fmt = kCompressed;
  fmt.replace(fmt.find("pack-quantized"), 14, "float-quantized");
  expect_error(parse(fmt), Code::kUnimplemented, "quantization_config.format: 'float-quantized'");
  std::string regex = kCompressed;
  regex.replace(regex.find("re:.*mlp"), 8, "re:(mlp");
  expect_error(parse(regex), Code::kInvalidArgument, "quantization_config.ignore[1]: bad regular");
}

TEST(QuantConfig, UnknownMethodAndBadShapes) {
  expect_error(parse(R"({"quant_method": "bitsandbytes"})"), Code::kInvalidArgument,
               "config.json: quantization_config.quant_method: 'bitsandbytes' is not supported");
  expect_error(parse(R"({"bits": 4})"), Code::kInvalidArgument,
               "quantization_config.quant_method: is required");
  expect_error(parse("[1, 2]"), Code::kInvalidArgument, "quantization_config: expected an object");
  expect_error(parse_quant_config(json::parse("[1]")), Code::kInvalidArgument,
               "expected a JSON object");
}

}  // namespace
}  // namespace fathom::model
