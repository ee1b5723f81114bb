// The linear layers of a checkpoint that fathom quantize and prune rewrite.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/checkpoint.h"

namespace fathom::quant {

struct LinearTarget {
  std::string prefix;  ///< "model.layers.3.mlp.down_proj"
  int64_t layer = 0;
  int64_t out = 0, in = 0;
};

/// Every 2-D model.layers.*.weight, ordered by layer then name.
Result<std::vector<LinearTarget>> find_linear_targets(const formats::Checkpoint& ck);

}  // namespace fathom::quant
