// Group-wise integer weights of one linear layer (GPTQ / AWQ / round-to-nearest): the codes,
// the per-(group, output) scale and zero point, and each input column's group. Scales are kept
// as the fp16 the checkpoints store, so what is packed dequantizes exactly to what the
// quantizer chose.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace fathom::quant {

/// How a group's scale and zero are found from its min and max.
enum class GridRule : uint8_t {
  kGptq,  ///< GPTQ Quantizer.find_params: range widened to include 0; sym zero = 2^(bits-1)
  kAwq,   ///< AutoAWQ pseudo_quantize_tensor: scale = (max - min) / 15, zero = -round(min/scale)
};

struct GroupQuantParams {
  int32_t bits = 4;
  int64_t group_size = 128;  ///< -1: one group over the whole input row
  bool sym = true;           ///< kGptq only
  GridRule rule = GridRule::kGptq;
  bool act_order = false;  ///< GPTQ desc_act: columns in decreasing diag(H) order
  double damp_percent = 0.01;
  int64_t block_size = 128;  ///< GPTQ lazy-batch width (rounded to whole groups)
};

struct GroupQuantized {
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t group_size = 0;  ///< effective (in_features for -1)
  int64_t num_groups = 0;
  int32_t bits = 4;
  std::vector<uint8_t> q;        ///< [out, in] codes in [0, 2^bits)
  std::vector<uint16_t> scales;  ///< [num_groups, out] fp16 bits
  std::vector<int32_t> zeros;    ///< [num_groups, out] true zero points
  std::vector<int32_t> g_idx;    ///< [in] group of each input column

  /// (q - zero) * scale of W[o, i].
  float dequant(int64_t o, int64_t i) const;
};

/// Checks bits (4), group size against in_features and the packing's multiples of 8.
Status check_group_shape(int64_t out_features, int64_t in_features, const GroupQuantParams& p);

/// fp32 -> IEEE half bits, round to nearest even (the scales' storage).
uint16_t f32_to_f16_bits(float f);

/// A group's grid for one output row from the values it covers.
struct Grid {
  float scale = 1.0f;  ///< already rounded to fp16
  int32_t zero = 0;
};
Grid find_grid(const float* values, int64_t count, int64_t stride, const GroupQuantParams& p);
/// The code of w on the grid: clamp(round(w / scale) + zero, 0, 2^bits - 1).
int32_t quantize_value(float w, const Grid& g, int32_t maxq);

/// Round-to-nearest: w [out, in] row-major, contiguous groups (the baseline).
GroupQuantized rtn_quantize(const float* w, int64_t out_features, int64_t in_features,
                            const GroupQuantParams& p);

}  // namespace fathom::quant
