// Round-to-nearest quantization of a weight into a quantized layout the kernels read, at load
// time (`fathom serve --quantization int8|int4|fp8`): float checkpoints served in 8 or 4 bits.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels {

enum class QuantTarget : uint8_t {
  kInt8Channel,  ///< symmetric int8 per output channel: scale = max|w| / 127
  kInt4Grouped,  ///< asymmetric 4-bit per (output, group of kInt4GroupSize inputs): min/max
  kFp8Block,     ///< float8_e4m3fn per 128 x 128 block: scale = max|w| / 448
};

inline constexpr int32_t kInt4GroupSize = 128;
inline constexpr int32_t kFp8Block = 128;

const char* quant_target_name(QuantTarget t);

/// w (any format; dequantized exactly first) quantized to `target`. The result owns its
/// buffers (LinearWeight::storage). Rows are quantized in parallel on `pool`.
LinearWeight quantize_weight(const LinearWeight& w, QuantTarget target, ThreadPool& pool);

/// float -> float8_e4m3fn, round to nearest (ties to even), saturating at +-448; NaN -> NaN.
uint8_t f32_to_e4m3(float f);

}  // namespace fathom::kernels
