// The few-rows linear kernel (decode steps, small decode batches, short prompts, speculative
// verification), shared by the instruction-set files like linear_panel.h: include it AFTER the
// file's `#pragma GCC target` and instantiate it with a Traits type of that file's own:
//   Traits::Reg, kWidth            the vector type and its float lanes
//   Traits::kMo, kMr               register tile: outputs x input rows (kMo * kMr accumulators)
//   zero(), load(p), fmadd(a, b, c), reduce(v)
//   Traits::F32Row ... Fp8Row      one stored weight row each: static make(w, o),
//                                  set_block(b) before the columns of block b, load(j) = the
//                                  kWidth weights from stored column j as floats
//
// Weights are read straight from their stored layout, decoded (and scaled, for blocked formats)
// in registers, and each decoded vector is FMA'd against kMr input rows; one horizontal sum per
// (output, row) at the end. Unlike the panel GEMM, nothing is decoded into memory or transposed
// per call, so the weights stream through once per kMr rows.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/weight_element.h"

namespace fathom::kernels::cpu {

/// Columns per set_block call: the group or block width for blocked formats, else the row.
/// (A template, like everything here, so no copy compiled for one ISA is shared with another.)
template <class Traits>
int64_t rows_block_size(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kInt4Grouped:
      return w.group_size;
    case WeightFormat::kFp8Block:
      return w.block_in;
    case WeightFormat::kGgml:  // a Q8_0 / Q4_0 block, a Q4_K sub-block, a Q6_K sub-block
      return w.ggml_type == GgmlType::kQ6_K ? 16 : 32;
    default:
      return w.in_features;
  }
}

/// Traits that decode GGML blocks in registers define GgmlQ8_0Row, GgmlQ4_0Row, GgmlQ4_KRow and
/// GgmlQ6_KRow; other types (and other Traits) decode through linear_cpu_ggml.cpp.
template <class Traits>
bool rows_ggml_supported(GgmlType t) {
  if constexpr (requires { typename Traits::GgmlQ8_0Row; })
    return t == GgmlType::kQ8_0 || t == GgmlType::kQ4_0 || t == GgmlType::kQ4_K ||
           t == GgmlType::kQ6_K;
  return false;
}

/// Whether the Traits' decoders cover this layout (blocks a whole number of vectors wide).
template <class Traits>
bool rows_layout_supported(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kInt4Grouped:
      return w.group_idx == nullptr && w.group_size % Traits::kWidth == 0;
    case WeightFormat::kFp8Block:
      return w.block_in % Traits::kWidth == 0;
    case WeightFormat::kGgml:
      return rows_ggml_supported<Traits>(w.ggml_type);
    default:
      return true;
  }
}

// y[r, o0 + m] for m < mo (<= kMo) and r < MR rows at xr[r]. Outputs past mo repeat the last
// valid one (their sums are dropped), so the tile is always kMo wide.
template <class Traits, int MR, class Row>
void rows_tile(const LinearWeight& w, int64_t o0, int mo, const float* const* xr, float* y,
               int64_t y_stride) {
  using Reg = typename Traits::Reg;
  constexpr int kMo = Traits::kMo, kW = Traits::kWidth;
  const int64_t in = w.in_features, in_v = in - in % kW, bs = rows_block_size<Traits>(w);
  Row rows[kMo];
#pragma GCC unroll 8
  for (int m = 0; m < kMo; ++m) rows[m] = Row::make(w, o0 + std::min(m, mo - 1));
  Reg acc[kMo][MR];
#pragma GCC unroll 8
  for (int m = 0; m < kMo; ++m)
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[m][r] = Traits::zero();
  for (int64_t b = 0, j0 = 0; j0 < in_v; ++b, j0 += bs) {
#pragma GCC unroll 8
    for (int m = 0; m < kMo; ++m) rows[m].set_block(b);
    const int64_t j1 = std::min(j0 + bs, in_v);
    for (int64_t j = j0; j < j1; j += kW) {
      Reg wv[kMo];
#pragma GCC unroll 8
      for (int m = 0; m < kMo; ++m) wv[m] = rows[m].load(j);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const Reg xv = Traits::load(xr[r] + j);
#pragma GCC unroll 8
        for (int m = 0; m < kMo; ++m) acc[m][r] = Traits::fmadd(wv[m], xv, acc[m][r]);
      }
    }
  }
  for (int m = 0; m < mo; ++m)
    for (int r = 0; r < MR; ++r) {
      float s = Traits::reduce(acc[m][r]);
      for (int64_t j = in_v; j < in; ++j) s += xr[r][j] * detail::weight_element(w, o0 + m, j);
      y[r * y_stride + o0 + m] = s;
    }
}

template <class Traits, class Row>
void rows_run(const LinearWeight& w, const LinearTile& t) {
  constexpr int kMo = Traits::kMo, kMr = Traits::kMr;
  static_assert(kMr >= 1 && kMr <= 4);
  const int64_t in = w.in_features, out = w.out_features;
  for (int64_t o0 = t.o_begin; o0 < t.o_end; o0 += kMo) {
    const int mo = static_cast<int>(std::min<int64_t>(kMo, t.o_end - o0));
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += kMr) {
      const float* xr[kMr];
      const int nr = static_cast<int>(std::min<int64_t>(kMr, t.num_rows - r0));
      for (int r = 0; r < nr; ++r) xr[r] = t.x + (r0 + r) * in;
      float* y = t.y + r0 * out;
      if constexpr (kMr >= 4)
        if (nr == 4) {
          rows_tile<Traits, 4, Row>(w, o0, mo, xr, y, out);
          continue;
        }
      if constexpr (kMr >= 3)
        if (nr == 3) {
          rows_tile<Traits, 3, Row>(w, o0, mo, xr, y, out);
          continue;
        }
      if constexpr (kMr >= 2)
        if (nr == 2) {
          rows_tile<Traits, 2, Row>(w, o0, mo, xr, y, out);
          continue;
        }
      rows_tile<Traits, 1, Row>(w, o0, mo, xr, y, out);
    }
  }
}

/// Every row of the tile for outputs [o_begin, o_end). PRECOND: rows_layout_supported<Traits>.
template <class Traits>
void run_linear_rows(const LinearWeight& w, const LinearTile& t) {
  switch (w.format) {
    case WeightFormat::kF32:
      return rows_run<Traits, typename Traits::F32Row>(w, t);
    case WeightFormat::kBF16:
      return rows_run<Traits, typename Traits::Bf16Row>(w, t);
    case WeightFormat::kF16:
      return rows_run<Traits, typename Traits::F16Row>(w, t);
    case WeightFormat::kInt8Channel:
      return rows_run<Traits, typename Traits::I8Row>(w, t);
    case WeightFormat::kInt4Grouped:
      return rows_run<Traits, typename Traits::Int4Row>(w, t);
    case WeightFormat::kFp8Block:
      return rows_run<Traits, typename Traits::Fp8Row>(w, t);
    case WeightFormat::kGgml:
      if constexpr (requires { typename Traits::GgmlQ8_0Row; }) {
        switch (w.ggml_type) {
          case GgmlType::kQ8_0:
            return rows_run<Traits, typename Traits::GgmlQ8_0Row>(w, t);
          case GgmlType::kQ4_0:
            return rows_run<Traits, typename Traits::GgmlQ4_0Row>(w, t);
          case GgmlType::kQ4_K:
            return rows_run<Traits, typename Traits::GgmlQ4_KRow>(w, t);
          case GgmlType::kQ6_K:
            return rows_run<Traits, typename Traits::GgmlQ6_KRow>(w, t);
          default:
            return;  // never chosen: rows_layout_supported is false
        }
      }
      return;
  }
}

}  // namespace fathom::kernels::cpu
