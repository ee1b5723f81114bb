// fathom quantize: a float Hugging Face model folder in, a quantized one out, in the layouts
// transformers and vLLM read (GPTQ, AWQ GEMM, compressed-tensors int8). GPTQ and AWQ calibrate
// on text through our own forward pass.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "base/status.h"
#include "quant/group_quant.h"

namespace fathom::quant {

enum class QuantizeMethod : uint8_t { kGptq, kAwq, kRtn, kInt8 };
const char* quantize_method_name(QuantizeMethod m);
Result<QuantizeMethod> parse_quantize_method(const std::string& text);

struct QuantizeOptions {
  QuantizeMethod method = QuantizeMethod::kGptq;
  GroupQuantParams params;            ///< 4-bit methods
  std::vector<int32_t> calib_tokens;  ///< gptq, awq
  int64_t samples = 128;              ///< calibration windows of ctx tokens
  int64_t ctx = 512;
  /// GPTQ keeps every Hessian of a calibration pass in memory; layers are split into as many
  /// passes over the calibration text as this budget needs.
  int64_t hessian_budget_bytes = int64_t{2} << 30;
  std::FILE* progress = nullptr;
};

struct QuantizeReport {
  int64_t layers_quantized = 0;
  int64_t calib_tokens = 0;
  int64_t calibration_passes = 0;
};

/// Every 2-D `model.layers.*.weight` becomes quantized; embeddings, norms and the LM head stay
/// as stored. Refuses an already quantized checkpoint and shapes the format cannot hold.
Result<QuantizeReport> quantize_model(const std::string& model_dir, const std::string& out_dir,
                                      const QuantizeOptions& opts);

}  // namespace fathom::quant
