// AVX-512F linear kernel for a few input rows (decode steps, small decode batches, short
// prompts, speculative verification): weights are read straight from their stored layout, 16 at
// a time, decoded (and, for blocked formats, scaled) in registers, and each decoded vector is
// FMA'd against kRowsMr input rows. A register tile of kRowsMo outputs x kRowsMr rows keeps
// 4 x 4 zmm accumulators; one horizontal sum per (output, row) at the end. Unlike the panel GEMM
// (linear_panel.h), nothing is decoded into memory or transposed per call, so the weights
// stream through once per row group: the step is bound by memory bandwidth, not by repacking.
//
// Decoders (16 stored weights at column j -> __m512, exact values of decode_row_scalar up to the
// order of one multiply):
//   f32: load          bf16: widen u16 -> u32, shift left 16          f16: vcvtph2ps
//   int8: sign-extend, convert, times the channel scale
//   int4: 8 bytes -> 16 nibbles in input order, minus the group's zero, convert, times its scale
//   fp8 e4m3: the byte re-packed as an f16 bit pattern (value / 256), vcvtph2ps, times the
//             block scale * 256 (the trick of linear_cpu_avx2.cpp; exact, NaN kept)
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/weight_element.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 _mm512_undefined_* (see avx512)

namespace fathom::kernels::cpu {
namespace {

constexpr int kMo = 4;  // outputs per register tile
constexpr int kMr = 4;  // input rows per register tile

inline __m512 widen_bf16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Each decoder reads one stored weight row. set_block(b) is called before the columns of block
// b (blocks of block_size(w) columns; unblocked formats have one block, the whole row).
struct F32Row {
  const float* p;
  void set_block(int64_t) {}
  __m512 load16(int64_t j) const { return _mm512_loadu_ps(p + j); }
};

struct Bf16Row {
  const uint16_t* p;
  void set_block(int64_t) {}
  __m512 load16(int64_t j) const {
    return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j)));
  }
};

struct F16Row {
  const uint16_t* p;
  void set_block(int64_t) {}
  __m512 load16(int64_t j) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j)));
  }
};

struct I8Row {
  const int8_t* p;
  __m512 scale;
  void set_block(int64_t) {}
  __m512 load16(int64_t j) const {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), scale);
  }
};

struct Int4Row {
  const uint8_t* p;      // (in + 1) / 2 bytes, input 2k in the low nibble of byte k
  const float* scales;   // [num_groups]
  const uint8_t* zeros;  // [num_groups]
  __m512 scale;
  __m512i zero;
  void set_block(int64_t g) {
    scale = _mm512_set1_ps(scales[g]);
    zero = _mm512_set1_epi32(zeros[g]);
  }
  __m512 load16(int64_t j) const {  // PRECOND: j % 16 == 0
    const __m128i b =
        _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + j / 2)));
    const __m128i lo = _mm_and_si128(b, _mm_set1_epi16(0x0f));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi16(0x0f));
    const __m128i nibbles = _mm_or_si128(lo, _mm_slli_epi16(hi, 8));  // lo0 hi0 lo1 hi1 ...
    const __m512i q = _mm512_sub_epi32(_mm512_cvtepu8_epi32(nibbles), zero);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(q), scale);
  }
};

struct Fp8Row {
  const uint8_t* p;
  const float* scales;  // this row's block-row of block_scale_inv: [ceil(in / block_in)]
  __m512 scale;
  void set_block(int64_t b) { scale = _mm512_set1_ps(scales[b] * 256.0f); }
  __m512 load16(int64_t j) const {
    // e4m3 s.eeee.mmm -> f16 s.0eeee.mmm0000000 (value / 256); S.1111.111 (NaN) -> f16 NaN.
    const __m256i v =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j)));
    const __m256i h = _mm256_and_si256(_mm256_srai_epi16(_mm256_slli_epi16(v, 8), 1),
                                       _mm256_set1_epi16(static_cast<int16_t>(0xBFFF)));
    const __m256i nan =
        _mm256_cmpeq_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x7F)), _mm256_set1_epi16(0x7F));
    const __m256i f16 = _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(0x7C00)));
    return _mm512_mul_ps(_mm512_cvtph_ps(f16), scale);
  }
};

template <class Row>
Row make_row(const LinearWeight& w, int64_t o) {
  const int64_t in = w.in_features;
  if constexpr (std::is_same_v<Row, F32Row>) {
    return {static_cast<const float*>(w.values) + o * in};
  } else if constexpr (std::is_same_v<Row, Bf16Row> || std::is_same_v<Row, F16Row>) {
    return {static_cast<const uint16_t*>(w.values) + o * in};
  } else if constexpr (std::is_same_v<Row, I8Row>) {
    return {w.q8 + o * in, _mm512_set1_ps(w.channel_scale[o])};
  } else if constexpr (std::is_same_v<Row, Int4Row>) {
    return {w.q4 + o * ((in + 1) / 2), w.group_scale + o * w.num_groups,
            w.group_zero + o * w.num_groups, _mm512_setzero_ps(), _mm512_setzero_si512()};
  } else {
    const int64_t nbi = (in + w.block_in - 1) / w.block_in;
    return {static_cast<const uint8_t*>(w.values) + o * in,
            w.block_scale_inv + (o / w.block_out) * nbi, _mm512_setzero_ps()};
  }
}

// Columns per set_block call: the group or block width for blocked formats, else the row.
int64_t block_size(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kInt4Grouped:
      return w.group_size;
    case WeightFormat::kFp8Block:
      return w.block_in;
    default:
      return w.in_features;
  }
}

// y[r, o0 + m] for m < mo (<= kMo) and r < MR rows at xr[r]. Rows past mo repeat the last
// valid one (their sums are dropped), so the tile is always kMo wide.
template <int MR, class Row>
void tile(const LinearWeight& w, int64_t o0, int mo, const float* const* xr, float* y,
          int64_t y_stride) {
  const int64_t in = w.in_features, in16 = in & ~int64_t{15}, bs = block_size(w);
  Row rows[kMo];
  for (int m = 0; m < kMo; ++m) rows[m] = make_row<Row>(w, o0 + std::min(m, mo - 1));
  __m512 acc[kMo][MR];
#pragma GCC unroll 16
  for (int m = 0; m < kMo; ++m)
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[m][r] = _mm512_setzero_ps();
  for (int64_t b = 0, j0 = 0; j0 < in16; ++b, j0 += bs) {
#pragma GCC unroll 16
    for (int m = 0; m < kMo; ++m) rows[m].set_block(b);
    const int64_t j1 = std::min(j0 + bs, in16);
    for (int64_t j = j0; j < j1; j += 16) {
      __m512 wv[kMo];
#pragma GCC unroll 16
      for (int m = 0; m < kMo; ++m) wv[m] = rows[m].load16(j);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512 xv = _mm512_loadu_ps(xr[r] + j);
#pragma GCC unroll 16
        for (int m = 0; m < kMo; ++m) acc[m][r] = _mm512_fmadd_ps(wv[m], xv, acc[m][r]);
      }
    }
  }
  for (int m = 0; m < mo; ++m)
    for (int r = 0; r < MR; ++r) {
      float s = _mm512_reduce_add_ps(acc[m][r]);
      for (int64_t j = in16; j < in; ++j) s += xr[r][j] * detail::weight_element(w, o0 + m, j);
      y[r * y_stride + o0 + m] = s;
    }
}

template <class Row>
void run(const LinearWeight& w, const LinearTile& t) {
  const int64_t in = w.in_features, out = w.out_features;
  for (int64_t o0 = t.o_begin; o0 < t.o_end; o0 += kMo) {
    const int mo = static_cast<int>(std::min<int64_t>(kMo, t.o_end - o0));
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += kMr) {
      const float* xr[kMr];
      const int nr = static_cast<int>(std::min<int64_t>(kMr, t.num_rows - r0));
      for (int r = 0; r < nr; ++r) xr[r] = t.x + (r0 + r) * in;
      float* y = t.y + r0 * out;
      switch (nr) {
        case 1:
          tile<1, Row>(w, o0, mo, xr, y, out);
          break;
        case 2:
          tile<2, Row>(w, o0, mo, xr, y, out);
          break;
        case 3:
          tile<3, Row>(w, o0, mo, xr, y, out);
          break;
        default:
          tile<4, Row>(w, o0, mo, xr, y, out);
          break;
      }
    }
  }
}

}  // namespace

bool rows_avx512_supports(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kF32:
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
    case WeightFormat::kInt8Channel:
      return true;
    case WeightFormat::kInt4Grouped:
      return w.group_idx == nullptr && w.group_size % 16 == 0;
    case WeightFormat::kFp8Block:
      return w.block_in % 16 == 0;
  }
  return false;
}

void linear_rows_avx512(const LinearWeight& w, const LinearTile& t) {
  switch (w.format) {
    case WeightFormat::kF32:
      return run<F32Row>(w, t);
    case WeightFormat::kBF16:
      return run<Bf16Row>(w, t);
    case WeightFormat::kF16:
      return run<F16Row>(w, t);
    case WeightFormat::kInt8Channel:
      return run<I8Row>(w, t);
    case WeightFormat::kInt4Grouped:
      return run<Int4Row>(w, t);
    case WeightFormat::kFp8Block:
      return run<Fp8Row>(w, t);
  }
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx512) is false)

namespace fathom::kernels::cpu {
bool rows_avx512_supports(const LinearWeight&) { return false; }
void linear_rows_avx512(const LinearWeight& w, const LinearTile& t) { linear_tile_scalar(w, t); }
}  // namespace fathom::kernels::cpu

#endif
