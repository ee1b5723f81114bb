// x in the lane order a one-row kernel over the 12-bit packed copy (kernels/bf16_packed.h)
// consumes a block in: each ISA's unpacks leave a block's 64 values in their own order, and x
// is permuted to match once per call (cpu/linear_bf16_avx512.cpp, cpu/linear_bf16_packed_avx2.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kernels/bf16_packed.h"

namespace fathom::kernels::cpu {

/// Position q of a block, as a kernel consumes it, holds block value order[q].
using Bf16PackLaneOrder = std::array<int, kBf16PackBlock>;

inline Bf16PackLaneOrder bf16_pack_lane_order(int (*lane)(int)) {
  Bf16PackLaneOrder o{};
  for (int q = 0; q < kBf16PackBlock; ++q) o[static_cast<size_t>(q)] = lane(q);
  return o;
}

/// x[in] permuted block by block so that position q holds x[order[q]]; thread-local storage,
/// valid until the calling thread's next call with the same T.
/// PRECOND: in % kBf16PackBlock == 0.
template <class T>
const T* bf16_pack_permuted(const T* x, int64_t in, const Bf16PackLaneOrder& order) {
  thread_local std::vector<T> xp;
  if (xp.size() < static_cast<size_t>(in)) xp.resize(static_cast<size_t>(in));
  for (int64_t j = 0; j < in; j += kBf16PackBlock)
    for (size_t q = 0; q < order.size(); ++q) xp[static_cast<size_t>(j) + q] = x[j + order[q]];
  return xp.data();
}

}  // namespace fathom::kernels::cpu
