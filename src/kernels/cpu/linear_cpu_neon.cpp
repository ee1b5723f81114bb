// NEON (AdvSIMD) fp32 linear kernels for 64-bit ARM, the counterpart of linear_cpu_avx2.cpp:
// AdvSIMD is part of every ARMv8-A CPU, so this file needs no target attribute; only the integer
// dot-product paths (linear_cpu_neon_int8.cpp) do, and they are chosen at run time from HWCAP.
//
// Per output row o and up to 4 input rows at once (one pass over the weight row serves them
// all), 8 stored weights at a time are decoded into two float32x4 and FMA'd into fp32
// accumulators:
//   bf16: shll #16                     f16: fcvtl
//   fp8 e4m3: re-pack the byte as an f16 bit pattern (value / 256), fcvtl; the 256 is folded
//             into the block scale (exact, NaN kept), as on AVX2.
//   int4: nibbles zipped into input order, minus the group's zero point in integers (exact),
//         the group scale applied once per group.
//   int8: sign-extend, convert; the channel scale applied once per row.
// Many rows go to the packed-panel GEMM (linear_panel.h) with a 6 x 16 micro-kernel.
#include "kernels/cpu/linear_cpu_neon.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/weight_element.h"
#include "tensor/dtype.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

#include "kernels/cpu/linear_panel.h"

namespace fathom::kernels::cpu {
namespace {

constexpr int kMaxRows = 4;
constexpr int64_t kOutTile = 16;  // output rows per task
constexpr int64_t kRowTile = 32;  // input rows per task when num_rows is large

// ---- decoders: 8 stored weights starting at column j -> two float32x4 --------------------------

struct F32Dec {
  const float* row;
  void load8(int64_t j, float32x4_t& a, float32x4_t& b) const {
    a = vld1q_f32(row + j);
    b = vld1q_f32(row + j + 4);
  }
};

struct Bf16Dec {
  const uint16_t* row;
  void load8(int64_t j, float32x4_t& a, float32x4_t& b) const {
    const uint16x8_t h = vld1q_u16(row + j);
    a = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    b = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
  }
};

inline void f16_bits_to_f32(uint16x8_t h, float32x4_t& a, float32x4_t& b) {
  a = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
  b = vcvt_high_f32_f16(vreinterpretq_f16_u16(h));
}

struct F16Dec {
  const uint16_t* row;
  void load8(int64_t j, float32x4_t& a, float32x4_t& b) const {
    f16_bits_to_f32(vld1q_u16(row + j), a, b);
  }
};

struct I8Dec {  // unscaled codes; the caller multiplies by the channel scale
  const int8_t* row;
  void load8(int64_t j, float32x4_t& a, float32x4_t& b) const {
    const int16x8_t v = vmovl_s8(vld1_s8(row + j));
    a = vcvtq_f32_s32(vmovl_s16(vget_low_s16(v)));
    b = vcvtq_f32_s32(vmovl_high_s16(v));
  }
};

// e4m3 byte s.eeee.mmm -> f16 bits s.0eeee.mmm0000000, i.e. value * 2^-8 (normal and
// subnormal alike); S.1111.111 (NaN) gets exponent 11111 with a non-zero mantissa: NaN.
constexpr float kFp8Fold = 256.0f;  // load8 returns value / 256

struct Fp8Dec {
  const uint8_t* row;
  void load8(int64_t j, float32x4_t& a, float32x4_t& b) const {
    const uint16x8_t v = vmovl_u8(vld1_u8(row + j));  // 8 x u16 holding one byte each
    const int16x8_t shifted = vshrq_n_s16(vreinterpretq_s16_u16(vshlq_n_u16(v, 8)), 1);
    const uint16x8_t h = vandq_u16(vreinterpretq_u16_s16(shifted), vdupq_n_u16(0xBFFF));
    const uint16x8_t nan = vceqq_u16(vandq_u16(v, vdupq_n_u16(0x7F)), vdupq_n_u16(0x7F));
    f16_bits_to_f32(vorrq_u16(h, vandq_u16(nan, vdupq_n_u16(0x7C00))), a, b);
  }
};

struct Int4Dec {  // codes minus the group's zero point; the caller applies the group scale
  const uint8_t* row;
  int16x8_t zero;
  void load8(int64_t j, float32x4_t& a, float32x4_t& b) const {  // PRECOND: j % 8 == 0
    uint32_t word;
    std::memcpy(&word, row + (static_cast<uint64_t>(j) >> 1), 4);
    const uint8x8_t v = vreinterpret_u8_u32(vdup_n_u32(word));
    // lo0 hi0 lo1 hi1 ...: columns j..j+7 in order
    const uint8x8_t q = vzip1_u8(vand_u8(v, vdup_n_u8(0xf)), vshr_n_u8(v, 4));
    const int16x8_t c = vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(q)), zero);
    a = vcvtq_f32_s32(vmovl_s16(vget_low_s16(c)));
    b = vcvtq_f32_s32(vmovl_high_s16(c));
  }
};

// ---- the shared inner loop ---------------------------------------------------------------------

// acc[r] += sum over stored columns [j0, j1) of dec(j) * x[r][j]; (j1 - j0) % 8 == 0. Sixteen
// columns a step in four accumulators per row, so the FMA latency is covered.
template <int NR, typename Dec>
inline void dot_span(const Dec& dec, const float* const* xr, int64_t j0, int64_t j1,
                     float32x4_t* acc) {
  float32x4_t part[3][NR];
  for (auto& p : part)
    for (int r = 0; r < NR; ++r) p[r] = vdupq_n_f32(0.0f);
  int64_t j = j0;
  for (; j + 16 <= j1; j += 16) {
    float32x4_t w0, w1, w2, w3;
    dec.load8(j, w0, w1);
    dec.load8(j + 8, w2, w3);
    for (int r = 0; r < NR; ++r) {
      acc[r] = vfmaq_f32(acc[r], w0, vld1q_f32(xr[r] + j));
      part[0][r] = vfmaq_f32(part[0][r], w1, vld1q_f32(xr[r] + j + 4));
      part[1][r] = vfmaq_f32(part[1][r], w2, vld1q_f32(xr[r] + j + 8));
      part[2][r] = vfmaq_f32(part[2][r], w3, vld1q_f32(xr[r] + j + 12));
    }
  }
  for (; j < j1; j += 8) {
    float32x4_t w0, w1;
    dec.load8(j, w0, w1);
    for (int r = 0; r < NR; ++r) {
      acc[r] = vfmaq_f32(acc[r], w0, vld1q_f32(xr[r] + j));
      part[0][r] = vfmaq_f32(part[0][r], w1, vld1q_f32(xr[r] + j + 4));
    }
  }
  for (int r = 0; r < NR; ++r)
    acc[r] = vaddq_f32(vaddq_f32(acc[r], part[0][r]), vaddq_f32(part[1][r], part[2][r]));
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

// One sum per block of `block` columns (the whole row when block >= in8), times scale(b).
template <int NR, typename MakeDec, typename Scale>
inline void row_blocked(const LinearWeight& w, int64_t o, int64_t block, MakeDec&& make_dec,
                        Scale&& scale, const float* const* xr, float* res) {
  const int64_t in8 = w.in_features & ~int64_t{7};
  float32x4_t tot[NR];
  for (int r = 0; r < NR; ++r) tot[r] = vdupq_n_f32(0.0f);
  for (int64_t b = 0, j0 = 0; j0 < in8; ++b, j0 += block) {
    float32x4_t acc[NR];
    for (int r = 0; r < NR; ++r) acc[r] = vdupq_n_f32(0.0f);
    dot_span<NR>(make_dec(b), xr, j0, std::min(j0 + block, in8), acc);
    const float s = scale(b);
    for (int r = 0; r < NR; ++r) tot[r] = vfmaq_n_f32(tot[r], acc[r], s);
  }
  for (int r = 0; r < NR; ++r) res[r] = vaddvq_f32(tot[r]);
  add_tail<NR>(w, o, xr, in8, res);
}

bool needs_row_buffer(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kFp8Block:
      return w.block_in % 8 != 0;
    case WeightFormat::kInt4Grouped:
      return w.group_idx != nullptr || w.group_size % 8 != 0;
    case WeightFormat::kGgml:
      return true;  // GGML blocks: decode_row_scalar -> decode_row_ggml
    default:
      return false;
  }
}

template <int NR>
void row_dispatch(const LinearWeight& w, int64_t o, const float* buf, const float* const* xr,
                  float* res) {
  const int64_t in = w.in_features, whole = in + 8;  // one block: the whole row
  const auto one = [](int64_t) { return 1.0f; };
  // Layouts without a vector decoder (int4 with scattered group_idx, odd block or group
  // sizes): the row dequantized once into `buf`, then the f32 loop over it.
  if (buf)
    return row_blocked<NR>(
        w, o, whole, [&](int64_t) { return F32Dec{buf}; }, one, xr, res);
  switch (w.format) {
    case WeightFormat::kF32: {
      const F32Dec dec{static_cast<const float*>(w.values) + o * in};
      return row_blocked<NR>(
          w, o, whole, [&](int64_t) { return dec; }, one, xr, res);
    }
    case WeightFormat::kBF16: {
      const Bf16Dec dec{static_cast<const uint16_t*>(w.values) + o * in};
      return row_blocked<NR>(
          w, o, whole, [&](int64_t) { return dec; }, one, xr, res);
    }
    case WeightFormat::kF16: {
      const F16Dec dec{static_cast<const uint16_t*>(w.values) + o * in};
      return row_blocked<NR>(
          w, o, whole, [&](int64_t) { return dec; }, one, xr, res);
    }
    case WeightFormat::kInt8Channel: {
      // add_tail adds scaled products, so scale the SIMD part only: res = sum * s + tail.
      const I8Dec dec{w.q8 + o * in};
      const float s = w.channel_scale[o];
      return row_blocked<NR>(
          w, o, whole, [&](int64_t) { return dec; }, [s](int64_t) { return s; }, xr, res);
    }
    case WeightFormat::kFp8Block: {  // PRECOND: block_in % 8 == 0
      const Fp8Dec dec{static_cast<const uint8_t*>(w.values) + o * in};
      const float* scales =
          w.block_scale_inv + (o / w.block_out) * ((in + w.block_in - 1) / w.block_in);
      return row_blocked<NR>(
          w, o, w.block_in, [&](int64_t) { return dec; },
          [&](int64_t b) { return scales[b] * kFp8Fold; }, xr, res);
    }
    case WeightFormat::kInt4Grouped: {  // PRECOND: contiguous groups, group_size % 8 == 0
      const uint8_t* row = w.q4 + o * ((in + 1) / 2);
      const float* scales = w.group_scale + o * w.num_groups;  // [num_groups]
      const uint8_t* zeros = w.group_zero + o * w.num_groups;  // [num_groups]
      return row_blocked<NR>(
          w, o, w.group_size,
          [&](int64_t g) {
            return Int4Dec{row, vdupq_n_s16(static_cast<int16_t>(zeros[g]))};
          },
          [&](int64_t g) { return scales[g]; }, xr, res);
    }
    case WeightFormat::kGgml:  // never here: needs_row_buffer sends it through `buf`
      return;
  }
}

void linear_tile_neon(const LinearWeight& w, const LinearTile& t) {
  const int64_t in = w.in_features, out = w.out_features;
  std::vector<float> buf;
  if (needs_row_buffer(w)) buf.resize(static_cast<size_t>(in));
  for (int64_t o = t.o_begin; o < t.o_end; ++o) {
    if (!buf.empty()) decode_row_scalar(w, o, buf.data());
    const float* bufp = buf.empty() ? nullptr : buf.data();
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += kMaxRows) {
      const int nr = static_cast<int>(std::min<int64_t>(kMaxRows, t.num_rows - r0));
      const float* xr[kMaxRows];
      for (int r = 0; r < nr; ++r) xr[r] = t.x + (r0 + r) * in;
      float res[kMaxRows] = {0, 0, 0, 0};
      switch (nr) {
        case 1:
          row_dispatch<1>(w, o, bufp, xr, res);
          break;
        case 2:
          row_dispatch<2>(w, o, bufp, xr, res);
          break;
        case 3:
          row_dispatch<3>(w, o, bufp, xr, res);
          break;
        default:
          row_dispatch<4>(w, o, bufp, xr, res);
          break;
      }
      for (int r = 0; r < nr; ++r) t.y[(r0 + r) * out + o] = res[r];
    }
  }
}

// ---- many rows: the packed-panel GEMM of linear_panel.h, 16 outputs per task, 6 x 16
// micro-kernel (24 accumulators, 4 panel vectors and a broadcast in 32 registers) ----

struct NeonPanel {
  static constexpr int64_t kOut = 16;
  static constexpr int kMr = 6;

  template <int MR>
  static void micro(const float* panel, int64_t kc, const float* x, int64_t x_stride, float* acc) {
    // Every loop over i and q is unrolled, so the accumulators live in registers.
    float32x4_t c[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
      for (auto& v : c[i]) v = vdupq_n_f32(0.0f);
    for (int64_t k = 0; k < kc; ++k) {
      float32x4_t b[4];
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) b[q] = vld1q_f32(panel + k * kOut + 4 * q);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const float32x4_t a = vld1q_dup_f32(x + i * x_stride + k);
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) c[i][q] = vfmaq_f32(c[i][q], a, b[q]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
      for (int q = 0; q < 4; ++q) {
        float* p = acc + i * kOut + 4 * q;
        vst1q_f32(p, vaddq_f32(vld1q_f32(p), c[i][q]));
      }
  }

  // bf16 and f16 8 at a time, the other formats through the scalar decoder: the same values.
  static void decode_row(const LinearWeight& w, int64_t o, float* buf) {
    const int64_t in = w.in_features;
    if (w.format != WeightFormat::kBF16 && w.format != WeightFormat::kF16)
      return decode_row_scalar(w, o, buf);
    const uint16_t* row = static_cast<const uint16_t*>(w.values) + o * in;
    int64_t j = 0;
    for (; j + 8 <= in; j += 8) {
      float32x4_t a, b;
      if (w.format == WeightFormat::kBF16) {
        Bf16Dec{row}.load8(j, a, b);
      } else {
        F16Dec{row}.load8(j, a, b);
      }
      vst1q_f32(buf + j, a);
      vst1q_f32(buf + j + 4, b);
    }
    for (; j < in; ++j)
      buf[j] = w.format == WeightFormat::kBF16 ? bf16_to_f32(row[j]) : f16_to_f32(row[j]);
  }
};

}  // namespace

bool neon_isa_available(Isa isa) {
  static const unsigned long kHwcap = getauxval(AT_HWCAP);
  static const unsigned long kHwcap2 = getauxval(AT_HWCAP2);
  switch (isa) {
    case Isa::kNeon:
      return (kHwcap & HWCAP_ASIMD) != 0;
    case Isa::kNeonDotprod:
      return (kHwcap & HWCAP_ASIMD) && (kHwcap & HWCAP_ASIMDDP);
    case Isa::kNeonI8mm:
      return (kHwcap & HWCAP_ASIMD) && (kHwcap & HWCAP_ASIMDDP) && (kHwcap2 & HWCAP2_I8MM);
    default:
      return false;
  }
}

void linear_neon(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                 ThreadPool& pool, Isa isa) {
  const int64_t in = w.in_features, out = w.out_features;
  if (isa != Isa::kNeon && neon_int8_applies(w) &&
      linear_neon_int8(w, x, num_rows, y, pool, isa == Isa::kNeonI8mm))
    return;
  if (num_rows >= kPanelMinRows) {
    static std::atomic<uint64_t> calls{0};
    for_each_tile(pool, x, in, num_rows, y, out, kPanelRows, NeonPanel::kOut, ++calls,
                  [&](const LinearTile& t) { run_linear_panel<NeonPanel>(w, t); });
    return;
  }
  for_each_tile(pool, x, in, num_rows, y, out, kRowTile, kOutTile, 0,
                [&](const LinearTile& t) { linear_tile_neon(w, t); });
}

}  // namespace fathom::kernels::cpu

#else  // not ARM: never selected (neon_isa_available is false); keep the symbols defined.

namespace fathom::kernels::cpu {
bool neon_isa_available(Isa) { return false; }
void linear_neon(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                 ThreadPool& pool, Isa) {
  linear_cpu_isa(w, x, num_rows, y, pool, Isa::kScalar);
}
}  // namespace fathom::kernels::cpu

#endif
