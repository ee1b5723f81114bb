// Loads one linear layer's weight from a checkpoint into the kernels' LinearWeight, whatever
// format it is stored in, validating every tensor against the expected [out, in] shape.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "formats/checkpoint.h"
#include "kernels/linear_weight.h"
#include "model/quant_config.h"

namespace fathom::model {

/// The weight of the linear layer at `prefix` (e.g. "model.layers.0.mlp.down_proj"),
/// W: [out_features, in_features]. The format follows from the tensors present:
///   PREFIX.weight F32 / BF16 / F16                   -> kF32 / kBF16 / kF16, zero-copy view
///   PREFIX.weight F8_E4M3 + .weight_scale_inv        -> kFp8Block (qc.method fp8 block size)
///   PREFIX.qweight + .qzeros + .scales [+ .g_idx]    -> kInt4Grouped (qc.method gptq or awq),
///                                                       repacked at load, still 4-bit
///   PREFIX.weight I8 + .weight_scale                 -> kInt8Channel, zero-copy codes
///   PREFIX.weight_packed + .weight_scale + .weight_shape -> kInt8Channel, unpacked at load
///   PREFIX.weight with ggml_blocks (a GGUF file's)   -> kGgml, zero-copy blocks
/// Zero-copy results point into `ck`'s mapped files: `ck` must outlive the weight. Repacked
/// buffers are owned by LinearWeight::storage.
/// Errors list every problem of the layer (one per line), each naming the tensor, its file and
/// both shapes or dtypes. Nothing read from the file is trusted: indices are bounds-checked.
Result<kernels::LinearWeight> load_linear(const formats::Checkpoint& ck,
                                          const std::string& prefix, const QuantConfig& qc,
                                          int64_t out_features, int64_t in_features);

}  // namespace fathom::model
