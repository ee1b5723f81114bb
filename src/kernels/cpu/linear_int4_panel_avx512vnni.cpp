// The int4 kernel of kernels/int4_panel.h on AVX-512 VNNI for a few rows (decode and small
// batches; from kIntGemmMinRows rows on the integer GEMM of linear_int_gemm.h is faster): a zmm
// holds one 4-byte word (8 columns) of 16 outputs, its nibbles split once (and, shift and and)
// and multiplied by a broadcast word of x for each row with vpdpbusd (weights unsigned, x
// signed: the zero point comes off per block as zero x the block's x code sum, as in the GEMM).
// Register tiles: 8 output tiles (a whole tile group: one stream through memory) x 1 row, 4 x
// 2..4 rows, 2 x 5..7 rows. Int32 sums per block (a group of the weight), folded into float sums
// per output and row in a stack buffer; a tile's 16 outputs are 16 consecutive floats of y.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/linear_int_gemm.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

#include "kernels/cpu/vpdpbusd.h"  // after the pragma: compiled for AVX-512 VNNI

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kLanes = kInt4PanelOut;
constexpr int64_t kStride = kInt4PanelWordStride;
// Words ahead that a tile prefetches (2 KiB of a tile group): with the hardware prefetchers
// alone a one-row call waited on memory, at 0.88x the bandwidth (docs/benchmarks.md).
constexpr int64_t kPrefetchWords = 4;

// x of one call: each row's span quantized to int4-ordered codes, and per (row, block) the
// scale and the code sum.
struct RowsX {
  int64_t span = 0, block = 0, num_blocks = 0;
  std::vector<uint8_t> codes;   // [rows][span]
  std::vector<float> scale;     // [rows][num_blocks]
  std::vector<float> code_sum;  // [rows][num_blocks]
};

bool pack_rows(const LinearWeight& w, const float* x, int64_t num_rows, ThreadPool& pool,
               RowsX& p) {
  const ActivationBlocks ab = activation_blocks(w);
  p.span = ab.span;
  p.block = ab.block;
  p.num_blocks = ab.count;
  p.codes.resize(static_cast<size_t>(num_rows * p.span));
  p.scale.resize(static_cast<size_t>(num_rows * p.num_blocks));
  p.code_sum.resize(p.scale.size());
  std::atomic<bool> finite{true};
  const auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t b = 0; b < p.num_blocks; ++b) {
        const int64_t j0 = b * p.block, n = std::min(p.block, p.span - j0);
        const int64_t at = r * p.num_blocks + b;
        if (!quantize_x_block_avx512(x + r * w.in_features + j0, n, true,
                                     p.codes.data() + r * p.span + j0, 4, &p.scale[at],
                                     &p.code_sum[at])) {
          finite.store(false, std::memory_order_relaxed);
          return;
        }
      }
  };
  if (num_rows == 1)
    rows(0, 1);  // decode: not worth a wake-up of the pool
  else
    pool.parallel_for(num_rows, rows);
  return finite.load();
}

// Output tiles [t0, t0 + MOV) x rows [0, R): float sums into tot[MOV][R][16].
template <int MOV, int R>
void tile(const Int4Panel& pn, const RowsX& px, int64_t t0, float* tot) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const uint32_t* wq[MOV];
  for (int v = 0; v < MOV; ++v) wq[v] = pn.word(t0 + v, 0);
  const uint8_t* xr[R];
  for (int r = 0; r < R; ++r) xr[r] = px.codes.data() + r * px.span;
  for (int i = 0; i < MOV * R; ++i) _mm512_store_ps(tot + i * kLanes, _mm512_setzero_ps());
  for (int64_t b = 0; b < px.num_blocks; ++b) {
    __m512i acc[MOV][R];
    for (auto& a : acc)
      for (__m512i& v : a) v = _mm512_setzero_si512();
    const int64_t k0 = b * px.block / 8, k1 = std::min((b + 1) * px.block, px.span) / 8;
    for (int64_t k = k0; k < k1; ++k) {
      __m512i we[MOV], wo[MOV];
#pragma GCC unroll 8
      for (int v = 0; v < MOV; ++v) {
        __builtin_prefetch(wq[v] + (k + kPrefetchWords) * kStride, 0, 3);
        const __m512i wv = _mm512_load_si512(wq[v] + k * kStride);
        we[v] = _mm512_and_si512(wv, low4);
        wo[v] = _mm512_and_si512(_mm512_srli_epi32(wv, 4), low4);
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512i xe = _mm512_set1_epi32(load4(xr[r] + 8 * k));
        const __m512i xo = _mm512_set1_epi32(load4(xr[r] + 8 * k + 4));
#pragma GCC unroll 8
        for (int v = 0; v < MOV; ++v) {
          acc[v][r] = dpbusd(acc[v][r], we[v], xe);
          acc[v][r] = dpbusd(acc[v][r], wo[v], xo);
        }
      }
    }
    // The exact integer sum less zero x (the block's x code sum), in float (below 2^24 for the
    // usual groups, as in the GEMM), times weight scale x x's block scale; unrolled so that the
    // sums stay in registers.
#pragma GCC unroll 8
    for (int v = 0; v < MOV; ++v) {
      const int64_t at = ((t0 + v) * pn.groups + b) * kLanes;
      const __m512 ws = _mm512_load_ps(pn.scale + at), wz = _mm512_load_ps(pn.zero + at);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const int64_t xa = r * px.num_blocks + b;
        const __m512 d =
            _mm512_fnmadd_ps(wz, _mm512_set1_ps(px.code_sum[xa]), _mm512_cvtepi32_ps(acc[v][r]));
        float* t = tot + (v * R + r) * kLanes;
        _mm512_store_ps(t, _mm512_fmadd_ps(d, _mm512_mul_ps(ws, _mm512_set1_ps(px.scale[xa])),
                                           _mm512_load_ps(t)));
      }
    }
  }
}

// Output tiles [t0, t0 + MOV) of every row into y, with the columns past the span in fp32 as
// the reference adds them.
template <int MOV, int R>
void tile_to_y(const LinearWeight& w, const Int4Panel& pn, const RowsX& px, int64_t t0,
               const float* x, float* y) {
  alignas(64) float tot[MOV * R * kLanes];
  tile<MOV, R>(pn, px, t0, tot);
  const int64_t in = w.in_features, out = w.out_features;
  for (int v = 0; v < MOV; ++v) {
    const int64_t o0 = (t0 + v) * kLanes;
    if (o0 >= out) break;
    const int64_t n = std::min<int64_t>(kLanes, out - o0);
    for (int r = 0; r < R; ++r) {
      float* yr = y + r * out + o0;
      const float* t = tot + (v * R + r) * kLanes;
      std::copy(t, t + n, yr);
      for (int64_t j = px.span; j < in; ++j)
        for (int64_t m = 0; m < n; ++m)
          yr[m] += x[r * in + j] * detail::weight_element(w, o0 + m, j);
    }
  }
}

using TileFn = void (*)(const LinearWeight&, const Int4Panel&, const RowsX&, int64_t, const float*,
                        float*);

// The register tile for `rows` rows: its function and its output tiles (a divisor of
// kInt4PanelTileGroup).
struct TileKind {
  TileFn fn;
  int64_t tiles;
};

TileKind tile_kind(int64_t rows) {
  static constexpr TileKind kKinds[kInt4PanelMaxRows + 1] = {
      {nullptr, 0},         {tile_to_y<8, 1>, 8}, {tile_to_y<4, 2>, 4}, {tile_to_y<4, 3>, 4},
      {tile_to_y<4, 4>, 4}, {tile_to_y<2, 5>, 2}, {tile_to_y<2, 6>, 2}, {tile_to_y<2, 7>, 2}};
  return kKinds[rows];
}

}  // namespace

bool int4_panel_avx512vnni(const LinearWeight& w, const Int4Panel& pn, const float* x,
                           int64_t num_rows, float* y, ThreadPool& pool) {
  RowsX px;
  if (!pack_rows(w, x, num_rows, pool, px)) return false;
  const TileKind kind = tile_kind(num_rows);
  const int64_t tiles = (w.out_features + kLanes - 1) / kLanes;
  // A task: one tile group (kInt4PanelTileGroup tiles, the panel is padded to whole groups).
  pool.parallel_for(pn.tiles / kInt4PanelTileGroup, [&](int64_t begin, int64_t end) {
    for (int64_t t0 = begin * kInt4PanelTileGroup; t0 < std::min(tiles, end * kInt4PanelTileGroup);
         t0 += kind.tiles)
      kind.fn(w, pn, px, t0, x, y);
  });
  return true;
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx512Vnni) is false)

namespace fathom::kernels::cpu {
bool int4_panel_avx512vnni(const LinearWeight&, const Int4Panel&, const float*, int64_t, float*,
                           ThreadPool&) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
