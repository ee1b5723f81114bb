// bf16 weights interleaved once, at load, into the tile order of the many-rows vdpbf16ps
// kernel (cpu/linear_bf16_avx512.cpp), for batched decode and prefill under
// ActivationPrecision::kReduced.
//
// That kernel multiplies a zmm of 16 outputs x one column pair against a broadcast pair of x,
// so it wants the weight transposed: for each tile of kBf16PanelOut outputs, the column pairs
// one after another, each pair the tile's outputs side by side. Interleaving that per call
// costs a 16 x 16 transpose per 512 values -- at 32 rows as much time as a third of the
// multiply-adds (docs/benchmarks.md) -- so the copy made here is read instead once ready.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/ready_slot.h"

namespace fathom::kernels {

/// Outputs per tile: three zmm of fp32 accumulators per x row.
inline constexpr int64_t kBf16PanelOut = 48;

struct Bf16Panel {
  int64_t out_features = 0, in_features = 0;
  int64_t pairs() const { return (in_features + 1) / 2; }
  int64_t tiles() const { return (out_features + kBf16PanelOut - 1) / kBf16PanelOut; }

  /// [tiles][pairs][kBf16PanelOut] uint32: element (t, p, o) holds bf16 W[t * 48 + o][2p] in
  /// its low half and W[t * 48 + o][2p + 1] in its high half (as vdpbf16ps pairs x); outputs
  /// past out_features and the partner of an odd last column are zero.
  const uint32_t* data = nullptr;
  std::shared_ptr<void> storage;  ///< owns `data`

  const uint32_t* tile(int64_t t) const { return data + t * pairs() * kBf16PanelOut; }
  int64_t size_bytes() const;
};

/// The bytes of the panel copy of an [out, in] weight.
int64_t bf16_panel_bytes(int64_t out_features, int64_t in_features);

/// Interleaves values (bf16 bits, row-major [out, in]). PRECOND: out > 0, in > 0.
/// Throws std::bad_alloc when memory runs out.
std::unique_ptr<Bf16Panel> pack_bf16_panel(const uint16_t* values, int64_t out, int64_t in);

/// W[o][j] read back from the panel (the reference for tests).
uint16_t bf16_panel_value(const Bf16Panel& p, int64_t o, int64_t j);

using Bf16PanelSlot = ReadySlot<Bf16Panel>;

}  // namespace fathom::kernels
