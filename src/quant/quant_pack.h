// Quantized weights into the exact checkpoint tensors other runtimes read (the layouts of
// tests/data/models/quantpack.py: AutoGPTQ/GPTQModel, AutoAWQ GEMM, compressed-tensors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "quant/group_quant.h"

namespace fathom::quant {

/// PREFIX.qweight I32 [in/8, out] (input 8r+j in bits 4j of row r), PREFIX.qzeros I32
/// [groups, out/8] (output 8c+j in bits 4j; checkpoint_format "gptq" stores zero - 1 per
/// field, subtracted from the packed words as GPTQModel does), PREFIX.scales F16 [groups, out],
/// PREFIX.g_idx I32 [in].
std::vector<formats::OwnedTensor> pack_gptq(const std::string& prefix, const GroupQuantized& q,
                                            bool v1_format);

/// PREFIX.qweight I32 [in, out/8] and PREFIX.qzeros I32 [groups, out/8] with AWQ's nibble
/// order (slot k of word c holds output 8c + [0,2,4,6,1,3,5,7][k]), PREFIX.scales F16
/// [groups, out]. Needs contiguous groups.
std::vector<formats::OwnedTensor> pack_awq(const std::string& prefix, const GroupQuantized& q);

/// Symmetric per-output-channel int8 (compressed-tensors): scale = max|w| / 127.5 stored as
/// bf16, q = clamp(round(w / scale), -128, 127).
struct Int8Channel {
  int64_t out_features = 0;
  int64_t in_features = 0;
  std::vector<int8_t> q;        ///< [out, in]
  std::vector<uint16_t> scale;  ///< [out] bf16 bits
};
Int8Channel int8_channel_quantize(const float* w, int64_t out_features, int64_t in_features);

/// compressed-tensors "pack-quantized" (what vLLM runs): PREFIX.weight_packed I32
/// [out, ceil(in/4)] (q + 128 as a byte, input 4k+j in bits 8j), PREFIX.weight_scale BF16
/// [out, 1], PREFIX.weight_shape I64 [2].
std::vector<formats::OwnedTensor> pack_int8(const std::string& prefix, const Int8Channel& q);

}  // namespace fathom::quant
