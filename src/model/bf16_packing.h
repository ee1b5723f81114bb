// LoadOptions::pack_bf16: the kBF16 linear weights packed into 12 bits per value
// (kernels/bf16_packed.h) for the one-row (decode) kernels.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "model/model.h"

namespace fathom::model {

/// Work on the weights after a load, run at once or on the model's background thread; it
/// returns early once `stop` is set.
using LoadJob = std::function<void(const std::atomic<bool>& stop)>;

/// Gives each linear weight of `model` that the one-row packed kernel would read (kBF16,
/// in_features a multiple of 64, the CPU backend on a CPU with AVX-512 BF16) an empty
/// Bf16PackedSlot, and returns the job that packs them and fills the slots: weight by weight,
/// so decode speeds up as it goes. Empty (and no slots) when opts.pack_bf16 is kOff, nothing
/// qualifies, or the packed copies would take more than half of `available_bytes` (logged).
LoadJob bf16_packing_job(Model& model, const LoadOptions& opts, uint64_t available_bytes);

}  // namespace fathom::model
