// The work split shared by the x86 integer GEMMs (linear_int_gemm_avx512vnni.cpp,
// linear_int_gemm_avx2.cpp): tasks of out_tile outputs x a chunk of row groups on the pool, and
// inside a task register tiles of MO outputs x RV row groups. Include after the file's
// #pragma GCC target, so that the tiles inline into the walk.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/thread_pool.h"

namespace fathom::kernels::cpu {

/// fn(o_begin, o_end, g_begin, g_end) for every task of out_tile outputs x per_task row groups,
/// in parallel. Row-chunk major: a thread's consecutive tasks share the same rows of x (in L2)
/// while the outputs' weights stream past them.
template <class Fn>
void for_each_int_gemm_task(ThreadPool& pool, int64_t out, int64_t out_tile, int64_t groups,
                            int64_t per_task, const Fn& fn) {
  const int64_t out_tiles = (out + out_tile - 1) / out_tile;
  const int64_t row_tasks = (groups + per_task - 1) / per_task;
  pool.parallel_for(out_tiles * row_tasks, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o_begin = (t % out_tiles) * out_tile, g_begin = (t / out_tiles) * per_task;
      fn(o_begin, std::min(out, o_begin + out_tile), g_begin, std::min(groups, g_begin + per_task));
    }
  });
}

/// tile.template operator()<MO, RV>(o0, mo, g0) over [o_begin, o_end) x [g_begin, g_end) in
/// steps of MO outputs (mo of them real, the last step short) and RV row groups, the groups
/// left over one at a time (<MO, 1>).
template <int MO, int RV, class Tile>
void for_each_int_tile(int64_t o_begin, int64_t o_end, int64_t g_begin, int64_t g_end,
                       const Tile& tile) {
  for (int64_t o0 = o_begin; o0 < o_end; o0 += MO) {
    const int mo = static_cast<int>(std::min<int64_t>(MO, o_end - o0));
    int64_t g = g_begin;
    for (; g + RV <= g_end; g += RV) tile.template operator()<MO, RV>(o0, mo, g);
    for (; g < g_end; ++g) tile.template operator()<MO, 1>(o0, mo, g);
  }
}

}  // namespace fathom::kernels::cpu
