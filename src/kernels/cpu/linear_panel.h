// The packed-panel GEMM for many rows (prefill, chunked prefill, batched decode), shared by the
// instruction-set files. Include it AFTER the file's `#pragma GCC target`, so the template is
// compiled for that file's extensions, and instantiate it with a Traits type of that file's
// own (so no instantiation is shared, and merged, across files):
//   Traits::kOut                 outputs per task (two vector registers per row)
//   Traits::kMr                  rows per micro-kernel call (1..kMr are instantiated)
//   Traits::micro<MR>(panel, kc, x, x_stride, acc)   acc[MR][kOut] += x[MR, kc] . panel[kc][kOut]
//   Traits::decode_row(w, o, buf)                    row o of W as fp32 (decode_row_scalar's
//   values)
//
// One task computes y[its rows, kOut outputs]. The kOut weight rows are decoded to fp32 once per
// linear_cpu_isa call and output tile (a thread's consecutive tasks are the row chunks of one
// tile), then for each block of kKc input columns packed transposed into a panel [kKc][kOut] that
// stays in L1; the micro-kernel keeps 2 x kMr accumulators in registers, broadcasting one x value
// per row against two panel vectors per column: no horizontal sums. Each column block's sums are
// added to the tile's, so rounding grows with blocks, not with every column.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"

namespace fathom::kernels::cpu {

template <class Traits>
void run_linear_panel(const LinearWeight& w, const LinearTile& t) {
  constexpr int64_t kOut = Traits::kOut, kKc = 256;
  using Micro = void (*)(const float*, int64_t, const float*, int64_t, float*);
  static constexpr auto kMicro = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<Micro, sizeof...(I) + 1>{nullptr,
                                               &Traits::template micro<static_cast<int>(I) + 1>...};
  }
  (std::make_index_sequence<Traits::kMr>());

  const int64_t in = w.in_features, out = w.out_features, no = t.o_end - t.o_begin;
  thread_local std::vector<float> rows, panel, acc;
  thread_local uint64_t decoded_call = 0;
  thread_local int64_t decoded_o = -1;
  if (decoded_call != t.call_id || decoded_o != t.o_begin || t.call_id == 0) {
    rows.assign(static_cast<size_t>(kOut * in), 0.0f);  // rows past `no` stay zero
    for (int64_t o = 0; o < no; ++o) Traits::decode_row(w, t.o_begin + o, rows.data() + o * in);
    decoded_call = t.call_id;
    decoded_o = t.o_begin;
  }
  acc.assign(static_cast<size_t>(t.num_rows * kOut), 0.0f);
  panel.resize(static_cast<size_t>(kKc * kOut));
  for (int64_t k0 = 0; k0 < in; k0 += kKc) {
    const int64_t kc = std::min(kKc, in - k0);
    for (int64_t o = 0; o < kOut; ++o) {
      const float* src = rows.data() + o * in + k0;
      for (int64_t k = 0; k < kc; ++k) panel[k * kOut + o] = src[k];
    }
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += Traits::kMr) {
      const int64_t mr = std::min<int64_t>(Traits::kMr, t.num_rows - r0);
      kMicro[mr](panel.data(), kc, t.x + r0 * in + k0, in, acc.data() + r0 * kOut);
    }
  }
  for (int64_t r = 0; r < t.num_rows; ++r)
    std::copy_n(acc.data() + r * kOut, no, t.y + r * out + t.o_begin);
}

}  // namespace fathom::kernels::cpu
