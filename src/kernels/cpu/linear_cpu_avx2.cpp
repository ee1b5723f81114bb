// AVX2 + FMA + F16C linear kernels (x86). Everything after the `#pragma GCC target` line is
// compiled for those extensions only; linear_cpu.cpp calls in here only when
// __builtin_cpu_supports says the CPU has them. Headers are included BEFORE the pragma so no
// shared inline function (std::, tensor/dtype.h) gets an AVX2 copy that the linker could pick
// for a machine without AVX2.
//
// Per output row o and up to 4 input rows at once (one pass over the weight row serves them
// all), 8 or 16 weights are decoded into __m256 registers and FMA'd into fp32 accumulators:
//   bf16: widen u16 -> u32, shift left 16          f16: vcvtph2ps
//   fp8 e4m3: re-pack the byte as an f16 bit pattern (value / 256), vcvtph2ps; the 256 is
//             folded into the block scale. Exact, NaN kept, no denormal-flag dependence.
//   int4: broadcast 4 bytes, vpsrlvd by 0,4,...,28, mask 0xf -> 8 codes in input order;
//         scale and zero point are applied once per group (zero via precomputed sums of x).
//   int8: sign-extend, convert; the channel scale is applied once per row.
// Block / group sums are kept apart and scaled once per block, so no per-element multiply.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/hsum_avx.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear_weight.h"
#include "kernels/weight_element.h"
#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include "kernels/cpu/decode_row_simd.h"  // after the pragma: compiled for AVX2
#include "kernels/cpu/linear_panel.h"     // likewise
#include "kernels/cpu/linear_rows.h"      // likewise

namespace fathom::kernels::cpu {
namespace {

constexpr int kMaxRows = 4;

// ---- decoders: 8 stored weights starting at column j -> __m256 -------------------------------

struct F32Dec {
  const float* row;
  __m256 load8(int64_t j) const { return _mm256_loadu_ps(row + j); }
};

struct Bf16Dec {
  const uint16_t* row;
  __m256 load8(int64_t j) const {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
};

struct F16Dec {
  const uint16_t* row;
  __m256 load8(int64_t j) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j)));
  }
};

struct I8Dec {  // unscaled codes; the caller multiplies by the channel scale
  const int8_t* row;
  __m256 load8(int64_t j) const {
    int64_t v;
    std::memcpy(&v, row + j, 8);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v)));
  }
};

// e4m3 byte s.eeee.mmm -> f16 bits s.0eeee.mmm0000000, i.e. value * 2^-8 (normal and
// subnormal alike); S.1111.111 (NaN) gets exponent 11111 with a non-zero mantissa: NaN.
inline __m128i e4m3_to_f16_bits(__m128i v16) {  // 8 x u16 holding one byte each
  const __m128i h = _mm_and_si128(_mm_srai_epi16(_mm_slli_epi16(v16, 8), 1),
                                  _mm_set1_epi16(static_cast<int16_t>(0xBFFF)));
  const __m128i nan =
      _mm_cmpeq_epi16(_mm_and_si128(v16, _mm_set1_epi16(0x7F)), _mm_set1_epi16(0x7F));
  return _mm_or_si128(h, _mm_and_si128(nan, _mm_set1_epi16(0x7C00)));
}
constexpr float kFp8Fold = 256.0f;  // load8 returns value / 256

// The same on 16 bytes at once (one 256-bit integer pass, two conversions).
inline __m256i e4m3_to_f16_bits16(__m256i v16) {  // 16 x u16 holding one byte each
  const __m256i h = _mm256_and_si256(_mm256_srai_epi16(_mm256_slli_epi16(v16, 8), 1),
                                     _mm256_set1_epi16(static_cast<int16_t>(0xBFFF)));
  const __m256i nan =
      _mm256_cmpeq_epi16(_mm256_and_si256(v16, _mm256_set1_epi16(0x7F)), _mm256_set1_epi16(0x7F));
  return _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(0x7C00)));
}

struct Fp8Dec {
  const uint8_t* row;
  __m256 load8(int64_t j) const {
    int64_t v;
    std::memcpy(&v, row + j, 8);
    return _mm256_cvtph_ps(e4m3_to_f16_bits(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(v))));
  }
  void load16(int64_t j, __m256& a, __m256& b) const {
    const __m256i h = e4m3_to_f16_bits16(
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j))));
    a = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
    b = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
  }
};

struct Int4Dec {  // raw codes 0..15; the zero point is applied per group by the caller
  const uint8_t* row;
  __m256 load8(int64_t j) const {  // PRECOND: j % 8 == 0, j >= 0
    uint32_t word;
    std::memcpy(&word, row + (static_cast<uint64_t>(j) >> 1), 4);
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i q =
        _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int32_t>(word)), shifts),
                         _mm256_set1_epi32(0xf));
    return _mm256_cvtepi32_ps(q);
  }
};

// ---- the shared inner loop ---------------------------------------------------------------------

// Two vectors of 16 consecutive weights: the decoder's own 16-wide path where it has one.
template <typename Dec>
inline void load16(const Dec& dec, int64_t j, __m256& a, __m256& b) {
  if constexpr (requires { dec.load16(j, a, b); }) {
    dec.load16(j, a, b);
  } else {
    a = dec.load8(j);
    b = dec.load8(j + 8);
  }
}

// Where column j of the decoder's row is stored.
template <typename Dec>
inline const char* column_address(const Dec& dec, int64_t j) {
  if constexpr (std::is_same_v<Dec, Int4Dec>)
    return reinterpret_cast<const char*>(dec.row) + (j >> 1);
  else
    return reinterpret_cast<const char*>(dec.row + j);
}

// One row prefetches its weight stream this far ahead (int8, linear_bench --rows 1, three
// alternated pairs: 8960x1536 25.7 -> 27.9 GB/s, 1536x8960 24.2 -> 29.0); more rows are bound
// by the FMAs, not by reads.
constexpr int64_t kOneRowPrefetchBytes = 1536;

// acc[r] += sum over stored columns [j0, j1) of dec(j) * x[r][j]; (j1 - j0) % 8 == 0.
// With one or two rows, four independent FMA chains (32 columns a step) hide the FMA latency;
// with three or four rows the rows themselves give enough independent chains. The fixed-count
// loops are unrolled by pragma: -O2 left the partial sums in memory, each FMA waiting on a
// store-to-load forward (one int8 row ran at 13 GB/s, in cache too).
template <int NR, typename Dec>
inline void dot_span(const Dec& dec, const float* const* xr, int64_t j0, int64_t j1, __m256* acc) {
  constexpr int kChains = NR <= 2 ? 4 : 2;
  __m256 part[kChains - 1][NR];
#pragma GCC unroll 8
  for (auto& p : part)
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) p[r] = _mm256_setzero_ps();
  int64_t j = j0;
  for (; j + 8 * kChains <= j1; j += 8 * kChains) {
    if constexpr (NR == 1) _mm_prefetch(column_address(dec, j) + kOneRowPrefetchBytes, _MM_HINT_T0);
    __m256 wv[kChains];
#pragma GCC unroll 8
    for (int c = 0; c < kChains; c += 2) load16(dec, j + 8 * c, wv[c], wv[c + 1]);
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      acc[r] = _mm256_fmadd_ps(wv[0], _mm256_loadu_ps(xr[r] + j), acc[r]);
#pragma GCC unroll 8
      for (int c = 1; c < kChains; ++c)
        part[c - 1][r] = _mm256_fmadd_ps(wv[c], _mm256_loadu_ps(xr[r] + j + 8 * c), part[c - 1][r]);
    }
  }
  for (; j < j1; j += 8) {
    const __m256 w0 = dec.load8(j);
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) acc[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr[r] + j), acc[r]);
  }
#pragma GCC unroll 8
  for (const auto& p : part)
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) acc[r] = _mm256_add_ps(acc[r], p[r]);
}

// Columns [in8, in) that do not fill a vector: exact scalar dequantization.
template <int NR>
inline void add_tail(const LinearWeight& w, int64_t o, const float* const* xr, int64_t in8,
                     float* res) {
  for (int64_t j = in8; j < w.in_features; ++j) {
    const float wv = detail::weight_element(w, o, j);
    for (int r = 0; r < NR; ++r) res[r] += xr[r][j] * wv;
  }
}

// Unblocked formats (f32, bf16, f16, int8): one sum per row, times `scale`.
template <int NR, typename Dec>
inline void row_plain(const LinearWeight& w, int64_t o, const Dec& dec, float scale,
                      const float* const* xr, float* res) {
  const int64_t in8 = w.in_features & ~int64_t{7};
  __m256 acc[NR];
  for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_ps();
  dot_span<NR>(dec, xr, 0, in8, acc);
  for (int r = 0; r < NR; ++r) res[r] = hsum8(acc[r]) * scale;
  add_tail<NR>(w, o, xr, in8, res);
}

// FP8 block: one sum per block_in columns, times that block's scale.
// PRECOND: block_in % 8 == 0.
template <int NR>
inline void row_fp8(const LinearWeight& w, int64_t o, const float* const* xr, float* res) {
  const int64_t in = w.in_features, in8 = in & ~int64_t{7}, bi = w.block_in;
  const int64_t nbi = (in + bi - 1) / bi;
  const float* scales = w.block_scale_inv + (o / w.block_out) * nbi;  // [nbi]
  const Fp8Dec dec{static_cast<const uint8_t*>(w.values) + o * in};
  __m256 tot[NR];
  for (int r = 0; r < NR; ++r) tot[r] = _mm256_setzero_ps();
  for (int64_t b = 0, j0 = 0; j0 < in8; ++b, j0 += bi) {
    __m256 acc[NR];
    for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_ps();
    dot_span<NR>(dec, xr, j0, std::min(j0 + bi, in8), acc);
    const __m256 s = _mm256_set1_ps(scales[b] * kFp8Fold);
    for (int r = 0; r < NR; ++r) tot[r] = _mm256_fmadd_ps(acc[r], s, tot[r]);
  }
  for (int r = 0; r < NR; ++r) res[r] = hsum8(tot[r]);
  add_tail<NR>(w, o, xr, in8, res);
}

// Int4 with contiguous groups. Per group g with scale s and zero z:
//   sum_j x_j (q_j - z) s = s * (sum_j x_j q_j) - s * z * xsum_g,
// xsum_g precomputed once per input row (LinearTile::x_group_sums), so the loop body is only
// unpack + convert + FMA.
// PRECOND: group_idx == nullptr, group_size % 8 == 0.
template <int NR>
inline void row_int4(const LinearWeight& w, int64_t o, const float* const* xr,
                     const float* const* xsum, float* res) {
  const int64_t in = w.in_features, in8 = in & ~int64_t{7}, gs = w.group_size;
  const float* scales = w.group_scale + o * w.num_groups;  // [num_groups]
  const uint8_t* zeros = w.group_zero + o * w.num_groups;  // [num_groups]
  const Int4Dec dec{w.q4 + o * ((in + 1) / 2)};
  __m256 tot[NR];
  float zero_term[NR];
  for (int r = 0; r < NR; ++r) {
    tot[r] = _mm256_setzero_ps();
    zero_term[r] = 0.0f;
  }
  for (int64_t g = 0, j0 = 0; j0 < in8; ++g, j0 += gs) {
    __m256 acc[NR];
    for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_ps();
    dot_span<NR>(dec, xr, j0, std::min(j0 + gs, in8), acc);
    const float sg = scales[g];
    const __m256 s = _mm256_set1_ps(sg);
    const float sz = sg * static_cast<float>(zeros[g]);
    for (int r = 0; r < NR; ++r) {
      tot[r] = _mm256_fmadd_ps(acc[r], s, tot[r]);
      zero_term[r] += sz * xsum[r][g];
    }
  }
  for (int r = 0; r < NR; ++r) res[r] = hsum8(tot[r]) - zero_term[r];
  add_tail<NR>(w, o, xr, in8, res);
}

// Layouts without a SIMD decoder (int4 with scattered group_idx, odd block or group sizes):
// dequantize the row once into `buf`, then run the f32 loop over it.
template <int NR>
inline void row_buffered(const LinearWeight& w, const float* buf, const float* const* xr,
                         float* res) {
  const int64_t in = w.in_features, in8 = in & ~int64_t{7};
  __m256 acc[NR];
  for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_ps();
  dot_span<NR>(F32Dec{buf}, xr, 0, in8, acc);
  for (int r = 0; r < NR; ++r) res[r] = hsum8(acc[r]);
  for (int64_t j = in8; j < in; ++j)
    for (int r = 0; r < NR; ++r) res[r] += xr[r][j] * buf[j];
}

bool int4_simd(const LinearWeight& w) {
  return w.format == WeightFormat::kInt4Grouped && w.group_idx == nullptr && w.group_size % 8 == 0;
}

bool needs_row_buffer(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kFp8Block:
      return w.block_in % 8 != 0;
    case WeightFormat::kInt4Grouped:
      return !int4_simd(w);
    case WeightFormat::kGgml:
      return true;
    default:
      return false;
  }
}

template <int NR>
void row_dispatch(const LinearWeight& w, int64_t o, const float* buf, const float* const* xr,
                  const float* const* xsum, float* res) {
  const int64_t in = w.in_features;
  if (buf) return row_buffered<NR>(w, buf, xr, res);
  switch (w.format) {
    case WeightFormat::kF32:
      return row_plain<NR>(w, o, F32Dec{static_cast<const float*>(w.values) + o * in}, 1.0f, xr,
                           res);
    case WeightFormat::kBF16:
      return row_plain<NR>(w, o, Bf16Dec{static_cast<const uint16_t*>(w.values) + o * in}, 1.0f, xr,
                           res);
    case WeightFormat::kF16:
      return row_plain<NR>(w, o, F16Dec{static_cast<const uint16_t*>(w.values) + o * in}, 1.0f, xr,
                           res);
    case WeightFormat::kInt8Channel: {
      // add_tail adds scaled products, so scale the SIMD part only: res = hsum * s + tail.
      return row_plain<NR>(w, o, I8Dec{w.q8 + o * in}, w.channel_scale[o], xr, res);
    }
    case WeightFormat::kFp8Block:
      return row_fp8<NR>(w, o, xr, res);
    case WeightFormat::kInt4Grouped:
      return row_int4<NR>(w, o, xr, xsum, res);
    case WeightFormat::kGgml:
      return;  // PRECOND: needs_row_buffer, so buf was given
  }
}

}  // namespace

bool avx2_wants_group_sums(const LinearWeight& w) { return int4_simd(w); }

void linear_tile_avx2(const LinearWeight& w, const LinearTile& t) {
  const int64_t in = w.in_features, out = w.out_features;
  // PRECOND (linear_cpu_isa): group sums are given whenever the int4 SIMD path runs.
  if (int4_simd(w) && !t.x_group_sums) return linear_tile_scalar(w, t);
  std::vector<float> buf;
  if (needs_row_buffer(w)) buf.resize(static_cast<size_t>(in));
  for (int64_t o = t.o_begin; o < t.o_end; ++o) {
    if (!buf.empty()) decode_row_scalar(w, o, buf.data());
    const float* bufp = buf.empty() ? nullptr : buf.data();
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += kMaxRows) {
      const int nr = static_cast<int>(std::min<int64_t>(kMaxRows, t.num_rows - r0));
      const float* xr[kMaxRows];
      const float* xsum[kMaxRows] = {nullptr, nullptr, nullptr, nullptr};
      for (int r = 0; r < nr; ++r) {
        xr[r] = t.x + (r0 + r) * in;
        if (t.x_group_sums) xsum[r] = t.x_group_sums + (r0 + r) * w.num_groups;
      }
      float res[kMaxRows];
      switch (nr) {
        case 1:
          row_dispatch<1>(w, o, bufp, xr, xsum, res);
          break;
        case 2:
          row_dispatch<2>(w, o, bufp, xr, xsum, res);
          break;
        case 3:
          row_dispatch<3>(w, o, bufp, xr, xsum, res);
          break;
        default:
          row_dispatch<4>(w, o, bufp, xr, xsum, res);
          break;
      }
      for (int r = 0; r < nr; ++r) t.y[(r0 + r) * out + o] = res[r];
    }
  }
}

// ---- many rows: the packed-panel GEMM of linear_panel.h, 16 outputs per task, 6 x 16 micro-kernel
// (12 ymm accumulators, 2 panel vectors and a broadcast in 16 registers) ----

namespace {

// decode_row_simd's vectors: 8 values.
struct DecodeYmm {
  using VF = __m256;
  static constexpr int64_t kLanes = 8;
  static VF set1(float v) { return _mm256_set1_ps(v); }
  static void int8(const int8_t* q, VF scale, float* out) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q));
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), scale));
  }
  static void int4(const uint8_t* q, int zero, VF scale, float* out) {
    uint32_t bytes;
    std::memcpy(&bytes, q, sizeof bytes);
    const __m128i b = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(static_cast<int>(bytes)));
    const __m128i lo = _mm_and_si128(b, _mm_set1_epi16(0x0f));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi16(0x0f));
    const __m128i nibbles = _mm_or_si128(lo, _mm_slli_epi16(hi, 8));  // lo0 hi0 lo1 hi1 ...
    const __m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(nibbles), _mm256_set1_epi32(zero));
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale));
  }
  static void fp8(const uint8_t* q, const float* lut, VF scale, float* out) {
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_i32gather_ps(lut, idx, 4), scale));
  }
};

struct Avx2Panel {
  static constexpr int64_t kOut = kPanelOutAvx2;
  static constexpr int kMr = 6;

  template <int MR>
  static void micro(const float* panel, int64_t kc, const float* x, int64_t x_stride, float* acc) {
    // Every loop over i is unrolled, so the accumulators live in registers.
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
      const __m256 b0 = _mm256_loadu_ps(panel + k * kOut);
      const __m256 b1 = _mm256_loadu_ps(panel + k * kOut + 8);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m256 a = _mm256_broadcast_ss(x + i * x_stride + k);
        c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
        c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* row = acc + i * kOut;
      _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), c0[i]));
      _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), c1[i]));
    }
  }

  // bf16 and f16 8 at a time (widen and shift; vcvtph2ps), the other formats by
  // decode_row_simd: the same values as the scalar decoder.
  static void decode_row(const LinearWeight& w, int64_t o, float* buf) {
    const int64_t in = w.in_features;
    if (w.format != WeightFormat::kBF16 && w.format != WeightFormat::kF16)
      return decode_row_simd<DecodeYmm>(w, o, buf);
    const uint16_t* row = static_cast<const uint16_t*>(w.values) + o * in;
    int64_t j = 0;
    for (; j + 8 <= in; j += 8) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j));
      _mm256_storeu_ps(buf + j,
                       w.format == WeightFormat::kBF16
                           ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
                           : _mm256_cvtph_ps(h));
    }
    for (; j < in; ++j)
      buf[j] = w.format == WeightFormat::kBF16 ? bf16_to_f32(row[j]) : f16_to_f32(row[j]);
  }
};

}  // namespace

void linear_panel_avx2(const LinearWeight& w, const LinearTile& t) {
  run_linear_panel<Avx2Panel>(w, t);
}

// ---- a few rows: the register-tiled kernel of linear_rows.h, 2 outputs x 4 rows (8 ymm
// accumulators), over the decoders above ----

namespace {

struct Avx2Rows {
  using Reg = __m256;
  static constexpr int kWidth = 8, kMo = 2, kMr = 4;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static float reduce(Reg v) { return hsum8(v); }

  // The unscaled decoders as rows: no blocks.
  template <class Dec, class T>
  struct Plain {
    Dec dec;
    static Plain make(const LinearWeight& w, int64_t o) {
      return {{static_cast<const T*>(w.values) + o * w.in_features}};
    }
    void set_block(int64_t) {}
    Reg load(int64_t j) const { return dec.load8(j); }
  };
  using F32Row = Plain<F32Dec, float>;
  using Bf16Row = Plain<Bf16Dec, uint16_t>;
  using F16Row = Plain<F16Dec, uint16_t>;

  struct I8Row {
    I8Dec dec;
    Reg scale;
    static I8Row make(const LinearWeight& w, int64_t o) {
      return {{w.q8 + o * w.in_features}, _mm256_set1_ps(w.channel_scale[o])};
    }
    void set_block(int64_t) {}
    Reg load(int64_t j) const { return _mm256_mul_ps(dec.load8(j), scale); }
  };

  struct Int4Row {  // (q - zero) * scale: q and zero are small integers, exact as floats
    Int4Dec dec;
    const float* scales;   // [num_groups]
    const uint8_t* zeros;  // [num_groups]
    Reg scale, zero;
    static Int4Row make(const LinearWeight& w, int64_t o) {
      return {{w.q4 + o * ((w.in_features + 1) / 2)},
              w.group_scale + o * w.num_groups,
              w.group_zero + o * w.num_groups,
              _mm256_setzero_ps(),
              _mm256_setzero_ps()};
    }
    void set_block(int64_t g) {
      scale = _mm256_set1_ps(scales[g]);
      zero = _mm256_set1_ps(static_cast<float>(zeros[g]));
    }
    Reg load(int64_t j) const { return _mm256_mul_ps(_mm256_sub_ps(dec.load8(j), zero), scale); }
  };

  struct Fp8Row {
    Fp8Dec dec;           // value / 256
    const float* scales;  // this row's block-row of block_scale_inv: [ceil(in / block_in)]
    Reg scale;
    static Fp8Row make(const LinearWeight& w, int64_t o) {
      const int64_t in = w.in_features, nbi = (in + w.block_in - 1) / w.block_in;
      return {{static_cast<const uint8_t*>(w.values) + o * in},
              w.block_scale_inv + (o / w.block_out) * nbi,
              _mm256_setzero_ps()};
    }
    void set_block(int64_t b) { scale = _mm256_set1_ps(scales[b] * kFp8Fold); }
    Reg load(int64_t j) const { return _mm256_mul_ps(dec.load8(j), scale); }
  };
};

}  // namespace

bool rows_avx2_supports(const LinearWeight& w) { return rows_layout_supported<Avx2Rows>(w); }

void linear_rows_avx2(const LinearWeight& w, const LinearTile& t) {
  run_linear_rows<Avx2Rows>(w, t);
}

}  // namespace fathom::kernels::cpu

#pragma GCC pop_options

#else  // not x86: never selected (isa_available(kAvx2) is false); keep the symbol defined.

namespace fathom::kernels::cpu {
bool avx2_wants_group_sums(const LinearWeight&) { return false; }
void linear_tile_avx2(const LinearWeight& w, const LinearTile& t) { linear_tile_scalar(w, t); }
void linear_panel_avx2(const LinearWeight& w, const LinearTile& t) { linear_tile_scalar(w, t); }
bool rows_avx2_supports(const LinearWeight&) { return false; }
void linear_rows_avx2(const LinearWeight& w, const LinearTile& t) { linear_tile_scalar(w, t); }
}  // namespace fathom::kernels::cpu

#endif
