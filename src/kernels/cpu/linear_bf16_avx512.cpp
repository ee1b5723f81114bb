// AVX-512 BF16 linear kernels (see linear_bf16_avx512.h). Everything after the `#pragma GCC
// target` line is compiled for AVX-512F/BW/BF16; linear_cpu.cpp calls in here only when
// avx512_bf16_available() says the CPU has it (headers come first, as in linear_cpu_avx512.cpp).
#include "kernels/cpu/linear_bf16_avx512.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/bf16_packed.h"
#include "kernels/bf16_panel.h"
#include "kernels/cpu/bf16_packed_x.h"
#include "kernels/linear_bf16.h"
#include "tensor/dtype.h"

namespace fathom::kernels::cpu {

bool avx512_bf16_available() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool kHas = isa_available(Isa::kAvx512) && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512bf16");
  return kHas;
#else
  return false;
#endif
}

bool uses_bf16_dot(const LinearWeight& w, int64_t num_rows, Isa isa, LinearPath path,
                   ActivationPrecision act) {
  isa = float_isa(isa);  // the VNNI paths run bf16 weights on the AVX-512 kernels
  if (act != ActivationPrecision::kReduced || isa != Isa::kAvx512 || !bf16_reduced_format(w) ||
      !avx512_bf16_available() || w.in_features <= 0)
    return false;
  const LinearPath p = choose_path(w, num_rows, isa, path);
  return p == LinearPath::kRows || p == LinearPath::kPanel;
}

}  // namespace fathom::kernels::cpu

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kLanes = 32;    // bf16 per zmm
constexpr int64_t kOutTile = 16;  // outputs per kRows task (as run_rows in linear_cpu.cpp)
// Panel tiles: kBf16PanelOut (48) outputs, 3 zmm per x row; micro-kernels of up to 8 rows
// (24 accumulators) over blocks of 128 column pairs (128 x 48 x 4 B = 24 KiB of weights,
// 8 rows x 128 x 4 B of x: both stay in L1 while the block runs).
constexpr int64_t kTileOut = kBf16PanelOut, kTileNv = kTileOut / 16, kPanelMr = 8;
constexpr int64_t kPanelRowsBf16 = 192;  // rows per task: acc[192][48] fp32 is 36 KiB
constexpr int64_t kBlockPairs = 128;

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh&>(v); }

// 32 floats at p (n < 32: the first n, the rest zero) as bf16.
inline __m512i round32(const float* p, int64_t n = kLanes) {
  const __mmask16 m0 = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 m1 = n >= 32 ? 0xffff : n > 16 ? static_cast<__mmask16>((1u << (n - 16)) - 1) : 0;
  const __m512bh v =
      _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, p + 16), _mm512_maskz_loadu_ps(m0, p));
  return reinterpret_cast<const __m512i&>(v);
}

// 32 f16 values (bits) as bf16: exact widening, then the same rounding as x.
inline __m512i f16_to_bf16(__m512i h) {
  const __m512 lo = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
  const __m512 hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
  const __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);
  return reinterpret_cast<const __m512i&>(v);
}

// Weight loaders: 32 stored values from column j of a row as bf16 (masked: the rest zero).
struct Bf16Weights {
  static __m512i load(const uint16_t* p) { return _mm512_loadu_si512(p); }
  static __m512i load(const uint16_t* p, __mmask32 m) { return _mm512_maskz_loadu_epi16(m, p); }
};
struct F16Weights {
  static __m512i load(const uint16_t* p) { return f16_to_bf16(_mm512_loadu_si512(p)); }
  static __m512i load(const uint16_t* p, __mmask32 m) {
    return f16_to_bf16(_mm512_maskz_loadu_epi16(m, p));
  }
};

// x [rows, in] -> bf16 [rows, xs * 2], each row zero-padded to a multiple of 32 columns.
void round_rows(const float* x, int64_t num_rows, int64_t in, uint32_t* xb, int64_t xs,
                ThreadPool& pool) {
  pool.parallel_for(num_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t j = 0; j < in; j += kLanes)
        _mm512_storeu_si512(xb + r * xs + j / 2, round32(x + r * in + j, std::min(kLanes, in - j)));
    }
  });
}

// acc[m][r] += W rows m . x rows r over 32 columns.
template <int MR>
inline void rows_step(__m512 (&acc)[4][MR], const __m512i (&wv)[4], const uint32_t* const* xr,
                      int64_t j) {
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    const __m512bh xv = as_bh(_mm512_loadu_si512(xr[r] + j / 2));
#pragma GCC unroll 4
    for (int m = 0; m < 4; ++m) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], as_bh(wv[m]), xv);
  }
}

// y[r, o0 + m] for m < mo (<= 4), r < MR. Outputs past mo repeat the last valid row.
// prefetch_next: the tile's first pass over x rows also prefetches the next four weight rows
// (the next tile's), which would otherwise arrive from memory at its first pass (2026-12-07:
// +7 % on 32-stream bf16 decode, docs/benchmarks.md).
template <class W, int MR>
void rows_tile(const uint16_t* values, int64_t in, int64_t o0, int mo, const uint32_t* const* xr,
               float* y, int64_t y_stride, bool prefetch_next = false) {
  const uint16_t* wr[4];
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) wr[m] = values + (o0 + std::min(m, mo - 1)) * in;
  __m512 acc[4][MR];
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m)
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) acc[m][r] = _mm512_setzero_ps();
  const int64_t in_full = in & ~(kLanes - 1);
  __m512i wv[4];
  for (int64_t j = 0; j < in_full; j += kLanes) {
#pragma GCC unroll 4
    for (int m = 0; m < 4; ++m) {
      wv[m] = W::load(wr[m] + j);
      // The next tile's rows (contiguous after these) into L2 while this one computes.
      if (prefetch_next)
        _mm_prefetch(reinterpret_cast<const char*>(wr[m] + 4 * in + j), _MM_HINT_T1);
    }
    rows_step<MR>(acc, wv, xr, j);
  }
  if (in_full < in) {
    const auto mask = static_cast<__mmask32>((uint64_t{1} << (in - in_full)) - 1);
#pragma GCC unroll 4
    for (int m = 0; m < 4; ++m) wv[m] = W::load(wr[m] + in_full, mask);
    rows_step<MR>(acc, wv, xr, in_full);
  }
  for (int m = 0; m < mo; ++m)
    for (int r = 0; r < MR; ++r) y[r * y_stride + o0 + m] = _mm512_reduce_add_ps(acc[m][r]);
}

// One x row (decode): one output after another, so each thread reads its weight rows as one
// sequential stream; the 4-output tiles below read four rows side by side, which measured
// 5-16 % slower model decode once the weights sit in huge pages (docs/benchmarks.md).
template <class W>
void rows_one(const uint16_t* values, int64_t in, const uint32_t* x, float* y, int64_t o_begin,
              int64_t o_end) {
  const int64_t in_full = in & ~(2 * kLanes - 1);
  for (int64_t o = o_begin; o < o_end; ++o) {
    const uint16_t* wr = values + o * in;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    for (int64_t j = 0; j < in_full; j += 2 * kLanes) {
      a0 = _mm512_dpbf16_ps(a0, as_bh(W::load(wr + j)), as_bh(_mm512_loadu_si512(x + j / 2)));
      a1 = _mm512_dpbf16_ps(a1, as_bh(W::load(wr + j + kLanes)),
                            as_bh(_mm512_loadu_si512(x + j / 2 + kLanes / 2)));
    }
    for (int64_t j = in_full; j < in; j += kLanes) {
      const auto mask = static_cast<__mmask32>((uint64_t{1} << std::min(kLanes, in - j)) - 1);
      a0 = _mm512_dpbf16_ps(a0, as_bh(W::load(wr + j, mask)), as_bh(_mm512_loadu_si512(x + j / 2)));
    }
    y[o] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  }
}

// The 12-bit packed copy (kernels/bf16_packed.h), one x row. Byte unpacks interleave the low
// and high bytes of each 16-byte lane, so a block comes out in bf16_pack_lane order: x is
// permuted to match once per call.
struct PackedBlock {
  __m512i first, second;  // bf16 of lanes 0-31 and 32-63 of the block (bf16_pack_lane order)
};

// A packed block (`slot`, with exponent bias `bias`) as bf16; the constants are hoisted out of
// the caller's loop once this is inlined.
inline PackedBlock decode_block(const uint8_t* slot, uint8_t bias) {
  const __m512i sm = _mm512_loadu_si512(slot);
  const __m512i codes = _mm512_broadcast_i64x4(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(slot + kBf16PackBlock)));
  // Exponent codes: low nibbles for values 0-31, high nibbles (the upper copy >> 4) for 32-63.
  const __m512i code = _mm512_and_si512(
      _mm512_srlv_epi64(codes, _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0)), _mm512_set1_epi8(0x0f));
  const __m512i ex = _mm512_maskz_add_epi8(_mm512_test_epi8_mask(code, code), code,
                                           _mm512_set1_epi8(static_cast<char>(bias)));
  // bf16 high byte: sign | exponent >> 1; low byte: exponent << 7 | mantissa (0xca: a ? b : c).
  const __m512i hi = _mm512_ternarylogic_epi32(_mm512_set1_epi8(static_cast<char>(0x80)), sm,
                                               _mm512_srli_epi16(ex, 1), 0xca);
  const __m512i lo =
      _mm512_ternarylogic_epi32(_mm512_set1_epi8(0x7f), sm, _mm512_slli_epi16(ex, 7), 0xca);
  return {_mm512_unpacklo_epi8(lo, hi), _mm512_unpackhi_epi8(lo, hi)};
}

// kReduced: vdpbf16ps against x rounded to bf16, in bf16_pack_lane order.
struct PackedDotBf16 {
  using X = uint16_t;
  static constexpr int kAcc = 2;
  static void step(__m512 (&acc)[4], const PackedBlock& w, const X* x) {
    acc[0] = _mm512_dpbf16_ps(acc[0], as_bh(w.first), as_bh(_mm512_loadu_si512(x)));
    acc[1] = _mm512_dpbf16_ps(acc[1], as_bh(w.second), as_bh(_mm512_loadu_si512(x + kLanes)));
  }
};

// kExact: each bf16 widened to fp32 (a 16-bit shift, exact) and fp32 FMAs against x as given,
// in the order the 16-bit unpacks leave the lanes (packed_f32_lane).
struct PackedDotF32 {
  using X = float;
  static constexpr int kAcc = 4;
  static void step(__m512 (&acc)[4], const PackedBlock& w, const X* x) {
    const __m512i zero = _mm512_setzero_si512();
    acc[0] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, w.first)),
                             _mm512_loadu_ps(x), acc[0]);
    acc[1] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, w.first)),
                             _mm512_loadu_ps(x + 16), acc[1]);
    acc[2] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, w.second)),
                             _mm512_loadu_ps(x + 32), acc[2]);
    acc[3] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, w.second)),
                             _mm512_loadu_ps(x + 48), acc[3]);
  }
};

// Position q of PackedDotF32's 64 fp32 lanes per block holds block value packed_f32_lane(q):
// four vectors (unpack lo / hi of first, of second), each four 128-bit lanes of four values.
int packed_f32_lane(int q) {
  const int vec = q / 16, lane = q % 16 / 4, i = q % 4;
  return bf16_pack_lane(vec / 2 * 32 + lane * 8 + vec % 2 * 4 + i);
}

template <class Dot>
void packed_one(const Bf16Packed& p, const typename Dot::X* xp, float* y, int64_t o_begin,
                int64_t o_end) {
  const int64_t blocks = p.blocks_per_row();
  for (int64_t o = o_begin; o < o_end; ++o) {
    const uint8_t* slot = p.slots + o * blocks * kBf16PackSlotBytes;
    const uint8_t* bias = p.bias.data() + o * blocks;
    uint32_t e = p.escape_begin[static_cast<size_t>(o)];
    const uint32_t e_end = p.escape_begin[static_cast<size_t>(o) + 1];
    int64_t next_escape = e < e_end ? p.escape_block[e] : blocks;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    for (int64_t b = 0; b < blocks; ++b, slot += kBf16PackSlotBytes) {
      const typename Dot::X* xb = xp + b * kBf16PackBlock;
      if (b != next_escape) {
        Dot::step(acc, decode_block(slot, bias[b]), xb);
        continue;
      }
      const uint16_t* v = p.escape_values.data() + size_t{e} * kBf16PackBlock;
      Dot::step(acc, {_mm512_loadu_si512(v), _mm512_loadu_si512(v + kLanes)}, xb);
      ++e;
      next_escape = e < e_end ? p.escape_block[e] : blocks;
    }
    __m512 sum = _mm512_add_ps(acc[0], acc[1]);
    if constexpr (Dot::kAcc == 4) sum = _mm512_add_ps(sum, _mm512_add_ps(acc[2], acc[3]));
    y[o] = _mm512_reduce_add_ps(sum);
  }
}

template <class W>
void rows_run(const LinearWeight& w, const uint32_t* xb, int64_t xs, int64_t num_rows, float* y,
              int64_t o_begin, int64_t o_end) {
  const int64_t in = w.in_features, out = w.out_features;
  const auto* values = static_cast<const uint16_t*>(w.values);
  if (num_rows == 1) return rows_one<W>(values, in, xb, y, o_begin, o_end);
  for (int64_t o0 = o_begin; o0 < o_end; o0 += 4) {
    const int mo = static_cast<int>(std::min<int64_t>(4, o_end - o0));
    for (int64_t r0 = 0; r0 < num_rows; r0 += 4) {
      const uint32_t* xr[4];
      const int nr = static_cast<int>(std::min<int64_t>(4, num_rows - r0));
      for (int r = 0; r < nr; ++r) xr[r] = xb + (r0 + r) * xs;
      float* yr = y + r0 * out;
      switch (nr) {
        case 4:
          rows_tile<W, 4>(values, in, o0, mo, xr, yr, out, r0 == 0 && o0 + 4 < o_end);
          break;
        case 3:
          rows_tile<W, 3>(values, in, o0, mo, xr, yr, out);
          break;
        case 2:
          rows_tile<W, 2>(values, in, o0, mo, xr, yr, out);
          break;
        default:
          rows_tile<W, 1>(values, in, o0, mo, xr, yr, out);
          break;
      }
    }
  }
}

// out[j] = lane i of r[i] for i, j < 16: a 16 x 16 transpose of 32-bit lanes (unpacks within
// 128-bit lanes, then a 4 x 4 transpose of the 128-bit lanes).
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16], s[16];
  for (int m = 0; m < 8; ++m) {
    t[2 * m] = _mm512_unpacklo_epi32(r[2 * m], r[2 * m + 1]);
    t[2 * m + 1] = _mm512_unpackhi_epi32(r[2 * m], r[2 * m + 1]);
  }
  // s[4 g + c], 128-bit lane k: rows 4g..4g+3 of column 4k + c.
  for (int g = 0; g < 4; ++g) {
    s[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    s[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    s[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    s[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512i x0 = _mm512_shuffle_i32x4(s[c], s[4 + c], 0x44);
    const __m512i x1 = _mm512_shuffle_i32x4(s[c], s[4 + c], 0xEE);
    const __m512i x2 = _mm512_shuffle_i32x4(s[8 + c], s[12 + c], 0x44);
    const __m512i x3 = _mm512_shuffle_i32x4(s[8 + c], s[12 + c], 0xEE);
    r[c] = _mm512_shuffle_i32x4(x0, x2, 0x88);       // column c
    r[4 + c] = _mm512_shuffle_i32x4(x0, x2, 0xDD);   // column 4 + c
    r[8 + c] = _mm512_shuffle_i32x4(x1, x3, 0x88);   // column 8 + c
    r[12 + c] = _mm512_shuffle_i32x4(x1, x3, 0xDD);  // column 12 + c
  }
}

// A full tile of bf16 rows, the pairs [0, 16 * chunks) by 16 x 16 transposes straight from the
// weight rows (no copy); returns the pairs it packed.
int64_t pack_panel_bf16_transposed(const LinearWeight& w, int64_t o_begin, uint32_t* panel) {
  const int64_t in = w.in_features, full = in / 2 / 16 * 16;
  const auto* values = static_cast<const uint16_t*>(w.values);
  for (int64_t p0 = 0; p0 < full; p0 += 16)
    for (int64_t half = 0; half < kTileOut; half += 16) {
      __m512i r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = _mm512_loadu_si512(values + (o_begin + half + i) * in + 2 * p0);
      transpose16(r);
      for (int j = 0; j < 16; ++j) _mm512_storeu_si512(panel + (p0 + j) * kTileOut + half, r[j]);
    }
  return full;
}

// Weight rows [o_begin, o_begin + no) as one tile of the Bf16Panel layout (kernels/bf16_panel.h):
// panel[p * 48 + o] = bf16 (W[o, 2p], W[o, 2p + 1]); rows past `no` and the partner of an odd
// last column are zero.
void pack_panel(const LinearWeight& w, int64_t o_begin, int64_t no, uint32_t* panel) {
  const int64_t in = w.in_features, np = (in + 1) / 2;
  // bf16 rows of a full tile: most pairs by transposes, the rest below.
  const int64_t p_done = w.format == WeightFormat::kBF16 && no == kTileOut
                             ? pack_panel_bf16_transposed(w, o_begin, panel)
                             : 0;
  thread_local std::vector<uint16_t> row;  // one weight row as bf16, padded to 32 columns
  row.assign(static_cast<size_t>((in + kLanes - 1) & ~(kLanes - 1)), 0);
  for (int64_t o = 0; o < kTileOut; ++o) {
    if (o >= no) {
      for (int64_t p = 0; p < np; ++p) panel[p * kTileOut + o] = 0;
      continue;
    }
    const uint16_t* src = static_cast<const uint16_t*>(w.values) + (o_begin + o) * in;
    if (w.format == WeightFormat::kBF16) {
      std::copy(src + 2 * p_done, src + in, row.data() + 2 * p_done);
    } else {
      for (int64_t j = 0; j < in; j += kLanes) {
        const auto m =
            static_cast<__mmask32>(in - j >= kLanes ? ~uint32_t{0} : (uint32_t{1} << (in - j)) - 1);
        _mm512_storeu_si512(row.data() + j, F16Weights::load(src + j, m));
      }
    }
    for (int64_t p = p_done; p < np; ++p) {
      uint32_t pair;
      std::memcpy(&pair, row.data() + 2 * p, sizeof(pair));
      panel[p * kTileOut + o] = pair;
    }
  }
}

// acc[MR][48] += x[MR rows, np pairs] . panel[np][48].
template <int MR>
void panel_micro(const uint32_t* panel, int64_t np, const uint32_t* x, int64_t xs, float* acc) {
  __m512 c[MR][kTileNv];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < kTileNv; ++v) c[i][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < np; ++p) {
    __m512bh b[kTileNv];
#pragma GCC unroll 3
    for (int v = 0; v < kTileNv; ++v) {
      b[v] = as_bh(_mm512_loadu_si512(panel + p * kTileOut + v * 16));
      _mm_prefetch(reinterpret_cast<const char*>(panel + (p + kBlockPairs) * kTileOut + v * 16),
                   _MM_HINT_T0);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh a = as_bh(_mm512_set1_epi32(static_cast<int>(x[i * xs + p])));
#pragma GCC unroll 3
      for (int v = 0; v < kTileNv; ++v) c[i][v] = _mm512_dpbf16_ps(c[i][v], a, b[v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < kTileNv; ++v) {
      float* a = acc + i * kTileOut + v * 16;
      _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), c[i][v]));
    }
}

using PanelMicro = void (*)(const uint32_t*, int64_t, const uint32_t*, int64_t, float*);
constexpr auto kPanelMicro = []<size_t... I>(std::index_sequence<I...>) {
  return std::array<PanelMicro, sizeof...(I) + 1>{nullptr,
                                                  &panel_micro<static_cast<int>(I) + 1>...};
}
(std::make_index_sequence<kPanelMr>());

// y[rows r0.., outputs o_begin..+48] for nr rows from one panel tile [np][48].
void panel_tile(const uint32_t* tile, int64_t np, const uint32_t* xb, int64_t xs, int64_t r0,
                int64_t nr, float* y, int64_t out, int64_t o_begin) {
  thread_local std::vector<float> acc;
  acc.assign(static_cast<size_t>(nr * kTileOut), 0.0f);
  for (int64_t p0 = 0; p0 < np; p0 += kBlockPairs) {
    const int64_t kp = std::min(kBlockPairs, np - p0);
    for (int64_t i = 0; i < nr; i += kPanelMr) {
      const int64_t mr = std::min(kPanelMr, nr - i);
      kPanelMicro[mr](tile + p0 * kTileOut, kp, xb + (r0 + i) * xs + p0, xs,
                      acc.data() + i * kTileOut);
    }
  }
  const int64_t no = std::min(kTileOut, out - o_begin);
  for (int64_t r = 0; r < nr; ++r)
    std::copy_n(acc.data() + r * kTileOut, no, y + (r0 + r) * out + o_begin);
}

// The tile at o_begin packed from w's rows once per call (call_id) and tile: a thread's
// consecutive tasks are the row chunks of one tile.
const uint32_t* packed_tile(const LinearWeight& w, int64_t o_begin, uint64_t call_id) {
  thread_local std::vector<uint32_t> panel;
  thread_local uint64_t packed_call = 0;
  thread_local int64_t packed_o = -1;
  if (packed_call != call_id || packed_o != o_begin) {
    panel.resize(static_cast<size_t>((w.in_features + 1) / 2 * kTileOut));
    pack_panel(w, o_begin, std::min(kTileOut, w.out_features - o_begin), panel.data());
    packed_call = call_id;
    packed_o = o_begin;
  }
  return panel.data();
}

// x rounded to bf16 pairs [num_rows][xs] (thread-local: reused, no page faults per call);
// returns xs.
int64_t rounded_rows(const float* x, int64_t num_rows, int64_t in, ThreadPool& pool,
                     const uint32_t** xb_out) {
  const int64_t xs = ((in + kLanes - 1) & ~(kLanes - 1)) / 2;
  thread_local std::vector<uint32_t> xb;
  if (xb.size() < static_cast<size_t>(num_rows * xs)) xb.resize(static_cast<size_t>(num_rows * xs));
  round_rows(x, num_rows, in, xb.data(), xs, pool);
  *xb_out = xb.data();
  return xs;
}

// Every (output tile, chunk of kPanelRowsBf16 rows) task of a panel product; tile(t, call_id)
// gives tile t's [np][48] panel.
template <class Tile>
void run_panel_tasks(const LinearWeight& w, const uint32_t* xb, int64_t xs, int64_t num_rows,
                     float* y, ThreadPool& pool, Tile tile) {
  static std::atomic<uint64_t> calls{0};
  const uint64_t call_id = ++calls;
  const int64_t out = w.out_features, np = (w.in_features + 1) / 2;
  const int64_t tiles = (out + kTileOut - 1) / kTileOut;
  const int64_t chunks = (num_rows + kPanelRowsBf16 - 1) / kPanelRowsBf16;
  pool.parallel_for(tiles * chunks, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / chunks, r0 = (task % chunks) * kPanelRowsBf16;
      panel_tile(tile(t, call_id), np, xb, xs, r0, std::min(kPanelRowsBf16, num_rows - r0), y, out,
                 t * kTileOut);
    }
  });
}

}  // namespace

bool linear_bf16_packed(const LinearWeight& w, const float* x, float* y, ThreadPool& pool,
                        ActivationPrecision act) {
  const Bf16Packed* packed = w.bf16_packed ? w.bf16_packed->get() : nullptr;
  if (packed == nullptr) return false;
  const int64_t in = w.in_features, out = w.out_features;
  auto run = [&](auto dot, const auto* xp) {
    pool.parallel_for((out + kOutTile - 1) / kOutTile, [&](int64_t begin, int64_t end) {
      packed_one<decltype(dot)>(*packed, xp, y, begin * kOutTile, std::min(out, end * kOutTile));
    });
  };
  static const Bf16PackLaneOrder kF32Order = bf16_pack_lane_order(packed_f32_lane);
  static const Bf16PackLaneOrder kBf16Order = bf16_pack_lane_order(bf16_pack_lane);
  if (act == ActivationPrecision::kExact) {
    run(PackedDotF32{}, bf16_pack_permuted(x, in, kF32Order));
  } else {
    thread_local std::vector<uint16_t> xb;
    if (xb.size() < static_cast<size_t>(in)) xb.resize(static_cast<size_t>(in));
    for (int64_t j = 0; j < in; j += kLanes) _mm512_storeu_si512(xb.data() + j, round32(x + j));
    run(PackedDotBf16{}, bf16_pack_permuted(xb.data(), in, kBf16Order));
  }
  return true;
}

bool linear_bf16_panel(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                       ThreadPool& pool) {
  const Bf16Panel* panel = w.bf16_panel ? w.bf16_panel->get() : nullptr;
  if (panel == nullptr || panel->in_features != w.in_features ||
      panel->out_features < w.out_features)
    return false;
  const uint32_t* xb = nullptr;
  const int64_t xs = rounded_rows(x, num_rows, w.in_features, pool, &xb);
  run_panel_tasks(w, xb, xs, num_rows, y, pool,
                  [panel](int64_t t, uint64_t) { return panel->tile(t); });
  return true;
}

void linear_bf16_avx512(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                        ThreadPool& pool, LinearPath path) {
  const int64_t out = w.out_features;
  const uint32_t* xp = nullptr;
  const int64_t xs = rounded_rows(x, num_rows, w.in_features, pool, &xp);
  if (path == LinearPath::kRows) {
    auto* run = w.format == WeightFormat::kBF16 ? &rows_run<Bf16Weights> : &rows_run<F16Weights>;
    pool.parallel_for((out + kOutTile - 1) / kOutTile, [&](int64_t begin, int64_t end) {
      run(w, xp, xs, num_rows, y, begin * kOutTile, std::min(out, end * kOutTile));
    });
    return;
  }
  run_panel_tasks(w, xp, xs, num_rows, y, pool, [&w](int64_t t, uint64_t call_id) {
    return packed_tile(w, t * kTileOut, call_id);
  });
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never called (avx512_bf16_available() is false)

namespace fathom::kernels::cpu {
void linear_bf16_avx512(const LinearWeight&, const float*, int64_t, float*, ThreadPool&,
                        LinearPath) {}
bool linear_bf16_packed(const LinearWeight&, const float*, float*, ThreadPool&,
                        ActivationPrecision) {
  return false;
}
bool linear_bf16_panel(const LinearWeight&, const float*, int64_t, float*, ThreadPool&) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
