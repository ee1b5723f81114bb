// The unmerged LoRA update of one projection over a batch whose rows belong to different
// adapters (S-LoRA / Punica style): rows are grouped by adapter and each group gets its own
// two thin products; rows of the base model (null) are left untouched.
#pragma once

#include <cstdint>
#include <span>

#include "model/lora/lora_adapter.h"
#include "runtime/backend.h"

namespace fathom::model::lora {

/// For every row r with an adapter a = row_adapters[r] that targets `target_idx`:
///   y[r, :] += a.scale * (x[r, :] A^T) B^T
/// x: [rows, in], y: [rows, out] on `backend` (which runs the products), row_adapters: [rows].
/// Returns the multiply-adds x 2 done.
int64_t add_lora_delta(runtime::Backend& backend, int32_t target_idx,
                       std::span<const LoraAdapter* const> row_adapters, const float* x, int64_t in,
                       float* y, int64_t out);

}  // namespace fathom::model::lora
