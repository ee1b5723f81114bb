// The weight rows of one register tile of the x86 integer kernels (linear_int_dot.h's few-rows
// tiles and the AVX-512 VNNI GEMM of linear_int_gemm_avx512vnni.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// Below this many x rows (decode, a pair of streams) the integer kernels take one output at a
/// time: each thread then reads its weight rows as one sequential stream. Tiles of four outputs
/// read four streams of one short row each (1536 bytes of int8, 768 of int4 for a 1536-column
/// layer), which the hardware prefetchers follow badly: 1.3-1.7x decode tokens/s on this machine
/// (docs/benchmarks.md, "Decode: one weight stream per thread"). A tile's sums do not depend on
/// its shape, so the result is bit-identical.
inline constexpr int64_t kStreamRowsBelow = 3;

/// How far ahead of its loads a one-output kernel prefetches its weight stream. Even one stream
/// per thread outruns the hardware prefetchers here: 8 KiB ahead gave int4 decode 1.2x and int8
/// 1.16x tokens/s, 2-4 KiB less, 16-32 KiB no more (docs/benchmarks.md, "Integer decode: int4 in
/// 128-column chunks, prefetched weight streams, ..."). bf16's packed decode gained nothing.
inline constexpr int64_t kStreamPrefetchBytes = 8192;

/// Prefetches the weight byte kStreamPrefetchBytes past p into L1 (past a row's end it reads
/// ahead into the next output's row, or harmlessly past the weight: prefetches never fault).
inline void stream_prefetch(const void* p) {
  __builtin_prefetch(static_cast<const char*>(p) + kStreamPrefetchBytes, 0, 3);
}

/// Outputs o0 .. o0 + mo - 1 of an MO-output tile (mo <= MO; the last output is repeated in the
/// unused slots, so the tile's loads stay in bounds and its extra sums are never stored): their
/// indices and their int8 (kInt8Channel) or int4 (kInt4Grouped) code rows, the other null.
template <int MO, bool kInt4>
void int_tile_rows(const LinearWeight& w, int64_t o0, int mo, int64_t (&o)[MO],
                   const int8_t* (&q8)[MO], const uint8_t* (&q4)[MO]) {
  const int64_t in = w.in_features;
  for (int m = 0; m < MO; ++m) {
    o[m] = o0 + std::min(m, mo - 1);
    q8[m] = kInt4 ? nullptr : w.q8 + o[m] * in;
    q4[m] = kInt4 ? w.q4 + o[m] * ((in + 1) / 2) : nullptr;
  }
}

}  // namespace fathom::kernels::cpu
