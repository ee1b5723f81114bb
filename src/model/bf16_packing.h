// LoadOptions::pack_bf16: the kBF16 linear weights packed into 12 bits per value
// (kernels/bf16_packed.h) for the one-row (decode) kernels, and with kReduced activations also
// interleaved into the many-rows kernel's tiles (kernels/bf16_panel.h).
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
/// Bf16PackedSlot and, when opts.activations is kReduced, each kBF16 linear weight an empty
/// Bf16PanelSlot; returns the job that makes the copies and fills the slots weight by weight
/// (the decode copies first), so the kernels speed up as it goes. A kind of copy is skipped
/// (logged) when it, with the decode copies, would take more than half of `available_bytes`;
/// empty (and no slots) when opts.pack_bf16 is kOff or nothing qualifies.
LoadJob bf16_packing_job(Model& model, const LoadOptions& opts, uint64_t available_bytes);

}  // namespace fathom::model
