// The ARM paths of linear_cpu_isa (Isa::kNeon, kNeonDotprod, kNeonI8mm): what the CPU has, read
// from the kernel's HWCAP bits, and the kernels. On other architectures these files compile to
// stubs that are never called (neon_isa_available is false there).
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// NEON: AdvSIMD (HWCAP_ASIMD); dotprod: + sdot (HWCAP_ASIMDDP); i8mm: + smmla (HWCAP2_I8MM).
/// False for every x86 Isa and on non-ARM machines.
bool neon_isa_available(Isa isa);

/// linear_cpu_isa on an ARM path: y[n, out] = x[n, in] . W^T, x in STORED column order.
/// Int8 and int4 weights go to linear_neon_int8 on the dotprod and i8mm paths (where it applies),
/// everything else to the fp32 NEON kernels (few rows: decode inside the dot products; many rows:
/// the packed-panel GEMM of linear_panel.h). PRECOND: neon_isa_available(isa).
void linear_neon(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                 ThreadPool& pool, Isa isa);

/// True when linear_neon_int8 takes this weight: int8 per channel, or int4 with contiguous
/// groups of a multiple of 32 columns.
bool neon_int8_applies(const LinearWeight& w);

/// Int8 and int4 weights through integer dot products (sdot, or smmla with `i8mm`). x is split
/// into three int8 limbs per block (a 24-bit fixed-point number scaled to the block's largest
/// |x|, about fp32's precision), so the result stays within fp32 rounding of the reference:
/// no activation quantization error. Returns false, having written nothing, when x holds a NaN
/// or an infinity (the fp32 kernels then propagate it as the reference does).
/// PRECOND: neon_int8_applies(w), the CPU has dotprod (and i8mm when asked).
bool linear_neon_int8(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                      ThreadPool& pool, bool i8mm);

/// Runs fn(tile) over y[num_rows, out] in tiles of row_tile x out_tile on the pool, output-tile
/// major: the contiguous task range one thread takes reuses the same weight rows.
template <typename Fn>
void for_each_tile(ThreadPool& pool, const float* x, int64_t in, int64_t num_rows, float* y,
                   int64_t out, int64_t row_tile, int64_t out_tile, uint64_t call_id, Fn&& fn) {
  const int64_t row_tiles = (num_rows + row_tile - 1) / row_tile;
  const int64_t out_tiles = (out + out_tile - 1) / out_tile;
  pool.parallel_for(out_tiles * row_tiles, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t r0 = (task % row_tiles) * row_tile, o0 = (task / row_tiles) * out_tile;
      LinearTile t;
      t.x = x + r0 * in;
      t.num_rows = std::min(row_tile, num_rows - r0);
      t.y = y + r0 * out;
      t.o_begin = o0;
      t.o_end = std::min(out, o0 + out_tile);
      t.call_id = call_id;
      fn(t);
    }
  });
}

}  // namespace fathom::kernels::cpu
