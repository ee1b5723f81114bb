// Copies of the linear weights in a kernel's own layout, made after the load:
// LoadOptions::pack_bf16: the kBF16 weights packed into 12 bits per value
// (kernels/bf16_packed.h) for the one-row (decode) kernels, and with kReduced activations also
// interleaved into the many-rows kernel's tiles (kernels/bf16_panel.h);
// LoadOptions::int4_panels: the kInt4Grouped weights interleaved into the AVX-512 VNNI int4
// kernel's tiles (kernels/int4_panel.h).
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
/// in_features a multiple of 64, the CPU backend on a CPU with AVX-512 BF16 or on AVX2) an
/// empty Bf16PackedSlot and, when opts.activations is kReduced on AVX-512 BF16, each kBF16
/// linear weight an empty Bf16PanelSlot; returns the job that makes the copies and fills the slots
/// weight by weight (the decode copies first), so the kernels speed up as it goes. A kind of copy
/// is skipped (logged) when it, with the decode copies, would take more than half of
/// `available_bytes`; empty (and no slots) when opts.pack_bf16 is kOff or nothing qualifies.
LoadJob bf16_packing_job(Model& model, const LoadOptions& opts, uint64_t available_bytes);

/// Gives each linear weight with int4_panel_applies an empty Int4PanelSlot when the CPU
/// backend runs kReduced activations on a CPU with AVX-512 VNNI, and returns the job that fills
/// them weight by weight; empty (and no slots) when opts.int4_panels is kOff, nothing
/// qualifies, or the copies would take more than half of `available_bytes` (logged).
LoadJob int4_panel_job(Model& model, const LoadOptions& opts, uint64_t available_bytes);

}  // namespace fathom::model
