// Weight storage formats and their exact bytes per matrix, scales and zero points included.
// The layouts are the checkpoints' (safetensors GPTQ/AWQ/compressed-tensors/fp8) and
// llama.cpp's GGUF blocks (k-quants); docs/plan.md has the table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/ops.h"
#include "model/quant_config.h"

namespace fathom::plan {

enum class WeightKind : uint8_t {
  kF32,
  kBf16,
  kF16,
  kFp8Block,  ///< float8 e4m3 + one f32 scale per block_out x block_in block (DeepSeek-V3)
  kInt8,      ///< int8 per output channel + a bf16 scale per row (compressed-tensors W8A16)
  kGptq4,     ///< 4-bit, per-group f16 scales and packed 4-bit zeros, int32 g_idx per input
  kAwq4,      ///< 4-bit, per-group f16 scales and packed 4-bit zeros
  kQ8_0,
  kQ6_K,
  kQ5_K,
  kQ4_K,
  kQ4_0,
  kQ3_K,
  kQ2_K,  ///< GGUF blocks
};

struct WeightFormat {
  WeightKind kind = WeightKind::kBf16;
  int32_t group_size = 128;  ///< GPTQ/AWQ input rows per group; -1 = whole row
  int32_t block_out = 128;   ///< fp8 scale block
  int32_t block_in = 128;

  /// "bf16", "fp8", "int8", "gptq4", "awq4", "q4_k", ...; "gptq4-g64" sets the group size.
  static Result<WeightFormat> parse(const std::string& name);
  /// The format a checkpoint's quantization_config describes (float checkpoints: bf16).
  static WeightFormat from_quant_config(const model::QuantConfig& q);
  std::string name() const;
  bool quantized() const {
    return kind != WeightKind::kF32 && kind != WeightKind::kBf16 && kind != WeightKind::kF16;
  }
  /// Bytes of the float tensors kept beside quantized linears (embeddings, norms): 4 for f32,
  /// else 2.
  int64_t float_bytes() const { return kind == WeightKind::kF32 ? 4 : 2; }

  /// Bytes of one linear weight [rows_out, cols_in] in this format, every tensor the format
  /// stores for it included (scales, zeros, g_idx, shape records).
  int64_t matrix_bytes(int64_t rows_out, int64_t cols_in) const;
};

/// Every format name `parse` accepts, for help texts.
std::vector<std::string> weight_format_names();

/// The serving engine's cache element type, so that plans size memory as `fathom serve` does.
using KvDtype = kernels::KvDtype;
using kernels::kv_dtype_bytes;
Result<KvDtype> parse_kv_dtype(const std::string& name);
const char* kv_dtype_name(KvDtype d);

}  // namespace fathom::plan
