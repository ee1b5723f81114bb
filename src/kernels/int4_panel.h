// Int4 weights interleaved once, after the load, into the tile order of the AVX-512 VNNI int4
// kernel for a few rows (cpu/linear_int4_panel_avx512vnni.cpp: decode and small batches under
// ActivationPrecision::kReduced).
//
// The stored layout keeps each output's row of nibbles together, so the few-rows integer
// kernel (linear_int_dot.h) multiplies one output's chunk by x and reduces every (output, row)
// sum across the lanes of a zmm, one vpdpbusd chain per output: in cache it ran at 41-67 GB/s
// of weights, about what memory delivers, so the two barely overlapped. Here a zmm holds the
// same 4-byte word (8 columns) of 16 outputs: its nibbles are split once and multiplied by a
// broadcast word of x per row, with no reduction across lanes (104-137 GB/s in cache).
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/linear_weight.h"
#include "kernels/ready_slot.h"

namespace fathom::kernels {

/// Outputs per tile (the 16 int32 lanes of a zmm), and the tiles the panel is padded to a
/// multiple of (a group: the kernel's task, and its register tile for one row).
inline constexpr int64_t kInt4PanelOut = 16;
inline constexpr int64_t kInt4PanelTileGroup = 8;
inline constexpr int64_t kInt4PanelWordStride = kInt4PanelTileGroup * kInt4PanelOut;
/// The most rows a call reads the panel for (the AVX-512 VNNI integer GEMM, which reads the
/// stored layout, is faster from kIntGemmMinRows = kInt4PanelMaxRows + 1 rows on).
inline constexpr int64_t kInt4PanelMaxRows = 7;

struct Int4Panel {
  int64_t out_features = 0, in_features = 0;
  int64_t words = 0;   ///< 8-column words per output: span / 8 (activation_blocks(w).span)
  int64_t groups = 0;  ///< the weight's num_groups
  int64_t tiles = 0;   ///< ceil(out / 16), rounded up to a multiple of kInt4PanelTileGroup

  /// [tiles / 8][words][8][16] uint32: word (t, k, o) is bytes 4k .. 4k + 3 of q4 row
  /// t * 16 + o, i.e. columns 8k .. 8k + 7 with the even ones in the low nibbles; zero past
  /// out_features. A group of 8 tiles (128 outputs) is one stream through memory, 512 bytes per
  /// word, which one row reads in order.
  const uint32_t* q = nullptr;
  /// [tiles][groups][16]: the outputs' group scales and zero points (as floats); zero past
  /// out_features.
  const float* scale = nullptr;
  const float* zero = nullptr;
  std::shared_ptr<void> storage;  ///< owns all three

  /// The 16 outputs' word k of tile t; the next word of the same tile is kInt4PanelWordStride on.
  const uint32_t* word(int64_t t, int64_t k) const {
    return q +
           ((t / kInt4PanelTileGroup * words + k) * kInt4PanelTileGroup + t % kInt4PanelTileGroup) *
               kInt4PanelOut;
  }
  int64_t size_bytes() const;
};

/// Whether w can have a panel copy: kInt4Grouped that int_dot_applies to, no input_perm
/// (act-order weights keep the kernels that gather x), out and in > 0.
bool int4_panel_applies(const LinearWeight& w);
/// The bytes of w's panel copy.
int64_t int4_panel_bytes(const LinearWeight& w);
/// The copy of w. PRECOND: int4_panel_applies(w). Throws std::bad_alloc when memory runs out.
std::unique_ptr<Int4Panel> pack_int4_panel(const LinearWeight& w);
/// The 4-bit code of stored W[o][j] (j < words * 8) read back from the panel (for tests).
int int4_panel_code(const Int4Panel& p, int64_t o, int64_t j);

using Int4PanelSlot = ReadySlot<Int4Panel>;

}  // namespace fathom::kernels
