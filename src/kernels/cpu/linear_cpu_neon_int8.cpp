// Int8 and int4 weights through the ARM integer dot products: sdot (ARMv8.2 dotprod: 4-lane
// int8 dot products of 4) and smmla (ARMv8.6 i8mm: a 2 x 8 by 8 x 2 int8 matrix product, i.e. two
// x rows against two weight rows at once). linear_cpu_isa calls in here only when HWCAP says the
// CPU has them; the code after each `#pragma GCC target` is compiled for those extensions only
// (headers come first, as in linear_cpu_avx2.cpp).
//
// x is not quantized: each row is cut into blocks (the int4 group, or 256 columns for int8) and
// each value written as a 24-bit fixed-point number of the block's scale (the codes of
// kernels/quantize_activations.h, shared with the x86 integer kernels),
//   x ~= scale_b * (65536 h + 256 m + l),  h, m, l int8 (balanced base-256 digits),
// whose rounding (|error| <= scale_b / 2 = max|x_b| * 2^-24) is that of fp32. One dot product per
// limb: sum_j x_j q_j = scale_b * (65536 sum h q + 256 sum m q + sum l q), with int32 sums that
// cannot overflow (|digit| <= 128, |code| <= 128, <= 2^16 columns per block). Int4 codes minus the
// group's zero point (-16..15) are int8 too, so the zero point costs nothing. Columns past the
// last multiple of 32 are added in scalar code.
//
// Int4 columns are stored two to a byte (even column in the low nibble); the limbs of each
// 32-column chunk are stored in that order too (16 even columns, then 16 odd ones), so a chunk's
// codes are one `and` and one shift of 16 bytes, with no shuffle.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "kernels/cpu/linear_cpu_neon.h"
#include "kernels/quantize_activations.h"
#include "kernels/weight_element.h"

namespace fathom::kernels::cpu {

// GGML blocks stay on the fp32 NEON path (their integer form is x86-only so far).
bool neon_int8_applies(const LinearWeight& w) {
  return w.format != WeightFormat::kGgml && int_dot_applies(w);
}

}  // namespace fathom::kernels::cpu

#if defined(__aarch64__)
#include <arm_neon.h>

namespace fathom::kernels::cpu {
namespace {

constexpr int kLimbs = 3;
constexpr int64_t kOutTile = 16;
constexpr int64_t kRowTile = 32;  // even: i8mm takes rows in pairs

// x of one linear call in limbs. Row r's limb k, virtual column v (see chunk_order) is
//   dotprod: limbs[(r * 3 + k) * in32 + v]
//   i8mm:    limbs[((r / 2 * 3 + k) * (in32 / 8) + v / 8) * 16 + (r % 2) * 8 + v % 8]
// (rows in pairs, 8 columns of one row then the same 8 of the other: smmla's operand layout).
struct LimbX {
  int64_t block = 0;       // columns per scale: the int4 group size, or kInt8Block
  int64_t in32 = 0;        // columns the integer kernels cover; the rest is scalar
  int64_t num_blocks = 0;  // ceil(in32 / block)
  bool finite = true;      // false: x holds a NaN or an infinity, which limbs cannot carry
  std::vector<int8_t> limbs;
  std::vector<float> scale;  // [num_rows rounded up to even, num_blocks]
};

// Virtual position of column k (0..31) within its 32-column chunk.
inline int64_t chunk_order(bool int4, int64_t k) {
  return int4 ? ((k & 1) ? 16 + k / 2 : k / 2) : k;
}

LimbX make_limbs(const LinearWeight& w, const float* x, int64_t num_rows, bool paired,
                 ThreadPool& pool) {
  const bool int4 = w.format == WeightFormat::kInt4Grouped;
  const ActivationBlocks ab = activation_blocks(w);  // the blocks and codes of the x86 kernels
  LimbX lx;
  lx.block = ab.block;
  lx.in32 = ab.span;
  lx.num_blocks = ab.count;
  const int64_t rows = (num_rows + 1) & ~int64_t{1}, in = w.in_features, in32 = lx.in32;
  lx.limbs.assign(static_cast<size_t>(rows * kLimbs * in32), 0);
  lx.scale.assign(static_cast<size_t>(rows * lx.num_blocks), 0.0f);
  std::atomic<bool> all_finite{true};
  pool.parallel_for(num_rows, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> codes(static_cast<size_t>(lx.block));
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * in;
      for (int64_t b = 0; b < lx.num_blocks; ++b) {
        const int64_t j0 = b * lx.block, j1 = std::min(j0 + lx.block, in32);
        if (!quantize_activation_block(xr + j0, j1 - j0, ActivationPrecision::kExact, codes.data(),
                                       &lx.scale[r * lx.num_blocks + b])) {
          all_finite.store(false, std::memory_order_relaxed);
          return;
        }
        for (int64_t j = j0; j < j1; ++j) {
          const int64_t v = (j & ~int64_t{31}) + chunk_order(int4, j & 31);
          int32_t code = codes[j - j0];  // |code| <= kExactMaxCode
          int8_t digit[kLimbs];          // l, m, h
          for (int8_t& d : digit) {
            d = static_cast<int8_t>(((code + 128) & 255) - 128);
            code = (code - d) / 256;
          }
          for (int k = 0; k < kLimbs; ++k) {
            const int64_t at =
                paired ? ((r / 2 * kLimbs + k) * (in32 / 8) + v / 8) * 16 + (r % 2) * 8 + v % 8
                       : (r * kLimbs + k) * in32 + v;
            lx.limbs[static_cast<size_t>(at)] = digit[kLimbs - 1 - k];  // limb 0 is h
          }
        }
      }
    }
  });
  lx.finite = all_finite.load();
  return lx;
}

// A weight row's codes for one block: 32 columns at a time as two int8x16 in virtual order.
struct Codes {
  const int8_t* q8 = nullptr;   // int8: the row
  const uint8_t* q4 = nullptr;  // int4: the row
  int8x16_t zero = vdupq_n_s8(0);
  void load32(int64_t j, int8x16_t& a, int8x16_t& b) const {  // PRECOND: j % 32 == 0
    if (q8) {
      a = vld1q_s8(q8 + j);
      b = vld1q_s8(q8 + j + 16);
      return;
    }
    const uint8x16_t bytes = vld1q_u8(q4 + j / 2);
    a = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0xf))), zero);  // even columns
    b = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4)), zero);              // odd columns
  }
};

// Row o's codes and scale for block b.
inline Codes block_codes(const LinearWeight& w, int64_t o, int64_t b, float& scale) {
  Codes c;
  if (w.format == WeightFormat::kInt8Channel) {
    c.q8 = w.q8 + o * w.in_features;
    scale = w.channel_scale[o];
    return c;
  }
  const int64_t og = o * w.num_groups + b;
  c.q4 = w.q4 + o * ((w.in_features + 1) / 2);
  c.zero = vdupq_n_s8(static_cast<int8_t>(w.group_zero[og]));
  scale = w.group_scale[og];
  return c;
}

// 65536 h + 256 m + l, as floats.
inline float32x4_t combine(int32x4_t h, int32x4_t m, int32x4_t l) {
  return vfmaq_n_f32(vfmaq_n_f32(vcvtq_f32_s32(l), vcvtq_f32_s32(m), 256.0f), vcvtq_f32_s32(h),
                     65536.0f);
}

// Columns [in32, in): exact scalar dequantization.
inline float tail(const LinearWeight& w, int64_t o, const float* xr, int64_t in32) {
  float s = 0.0f;
  for (int64_t j = in32; j < w.in_features; ++j) s += xr[j] * detail::weight_element(w, o, j);
  return s;
}

}  // namespace

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

namespace {

// y[r0 + r, o] for r < NR (absolute row indices into lx).
template <int NR>
void row_sdot(const LinearWeight& w, const LimbX& lx, int64_t o, int64_t r0, const float* x,
              float* y) {
  const int64_t in32 = lx.in32, nb = lx.num_blocks;
  float32x4_t tot[NR];
  for (int r = 0; r < NR; ++r) tot[r] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    float ws;
    const Codes codes = block_codes(w, o, b, ws);
    int32x4_t acc[NR][kLimbs];
    for (auto& a : acc)
      for (auto& v : a) v = vdupq_n_s32(0);
    for (int64_t j = b * lx.block, j1 = std::min(j + lx.block, in32); j < j1; j += 32) {
      int8x16_t w0, w1;
      codes.load32(j, w0, w1);
      for (int r = 0; r < NR; ++r)
        for (int k = 0; k < kLimbs; ++k) {
          const int8_t* xp = lx.limbs.data() + ((r0 + r) * kLimbs + k) * in32 + j;
          acc[r][k] = vdotq_s32(vdotq_s32(acc[r][k], w0, vld1q_s8(xp)), w1, vld1q_s8(xp + 16));
        }
    }
    for (int r = 0; r < NR; ++r)
      tot[r] = vfmaq_n_f32(tot[r], combine(acc[r][0], acc[r][1], acc[r][2]),
                           ws * lx.scale[(r0 + r) * nb + b]);
  }
  const int64_t in = w.in_features, out = w.out_features;
  for (int r = 0; r < NR; ++r)
    y[(r0 + r) * out + o] = vaddvq_f32(tot[r]) + tail(w, o, x + (r0 + r) * in, in32);
}

void tile_sdot(const LinearWeight& w, const LimbX& lx, const float* x, float* y, int64_t row_begin,
               int64_t num_rows, int64_t o_begin, int64_t o_end) {
  for (int64_t o = o_begin; o < o_end; ++o)
    for (int64_t r = row_begin; r < row_begin + num_rows; r += 4) {
      switch (std::min<int64_t>(4, row_begin + num_rows - r)) {
        case 1:
          row_sdot<1>(w, lx, o, r, x, y);
          break;
        case 2:
          row_sdot<2>(w, lx, o, r, x, y);
          break;
        case 3:
          row_sdot<3>(w, lx, o, r, x, y);
          break;
        default:
          row_sdot<4>(w, lx, o, r, x, y);
          break;
      }
    }
}

}  // namespace

#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod+i8mm")

namespace {

// y for rows (2p, 2p + 1) x outputs (o0, o1) in one 2 x 2 block of smmla sums; a missing second
// row (odd num_rows: its limbs are zero) or output (o1 == o0) is computed but not written.
void pair_smmla(const LinearWeight& w, const LimbX& lx, int64_t o0, int64_t o1, int64_t p,
                int64_t num_rows, const float* x, float* y) {
  const int64_t in32 = lx.in32, nb = lx.num_blocks, r0 = 2 * p;
  float32x4_t tot = vdupq_n_f32(0.0f);  // [r0.o0, r0.o1, r1.o0, r1.o1]
  for (int64_t b = 0; b < nb; ++b) {
    float ws0, ws1;
    const Codes c0 = block_codes(w, o0, b, ws0), c1 = block_codes(w, o1, b, ws1);
    int32x4_t acc[kLimbs] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (int64_t j = b * lx.block, j1 = std::min(j + lx.block, in32); j < j1; j += 32) {
      int8x16_t a0, a1, b0, b1;
      c0.load32(j, a0, a1);
      c1.load32(j, b0, b1);
      // smmla's right operand: 8 columns of o0, then the same 8 of o1.
      const auto zip = [](int8x16_t u, int8x16_t v, bool high) {
        const int64x2_t s = vreinterpretq_s64_s8(u), t = vreinterpretq_s64_s8(v);
        return vreinterpretq_s8_s64(high ? vzip2q_s64(s, t) : vzip1q_s64(s, t));
      };
      const int8x16_t wv[4] = {zip(a0, b0, false), zip(a0, b0, true), zip(a1, b1, false),
                               zip(a1, b1, true)};
      for (int k = 0; k < kLimbs; ++k) {
        const int8_t* xp = lx.limbs.data() + ((p * kLimbs + k) * (in32 / 8) + j / 8) * 16;
        for (int c = 0; c < 4; ++c) acc[k] = vmmlaq_s32(acc[k], vld1q_s8(xp + 16 * c), wv[c]);
      }
    }
    const float s0 = lx.scale[r0 * nb + b], s1 = lx.scale[(r0 + 1) * nb + b];
    const float scales[4] = {ws0 * s0, ws1 * s0, ws0 * s1, ws1 * s1};
    tot = vfmaq_f32(tot, combine(acc[0], acc[1], acc[2]), vld1q_f32(scales));
  }
  float sums[4];
  vst1q_f32(sums, tot);
  const int64_t in = w.in_features, out = w.out_features;
  for (int r = 0; r < 2 && r0 + r < num_rows; ++r) {
    const float* xr = x + (r0 + r) * in;
    y[(r0 + r) * out + o0] = sums[2 * r] + tail(w, o0, xr, in32);
    if (o1 != o0) y[(r0 + r) * out + o1] = sums[2 * r + 1] + tail(w, o1, xr, in32);
  }
}

void tile_smmla(const LinearWeight& w, const LimbX& lx, const float* x, float* y, int64_t row_begin,
                int64_t num_rows_tile, int64_t num_rows, int64_t o_begin, int64_t o_end) {
  for (int64_t o = o_begin; o < o_end; o += 2)
    for (int64_t r = row_begin; r < row_begin + num_rows_tile; r += 2)  // row_begin is even
      pair_smmla(w, lx, o, std::min(o + 1, o_end - 1), r / 2, num_rows, x, y);
}

}  // namespace

#pragma GCC pop_options

bool linear_neon_int8(const LinearWeight& w, const float* x, int64_t num_rows, float* y,
                      ThreadPool& pool, bool i8mm) {
  const LimbX lx = make_limbs(w, x, num_rows, i8mm, pool);
  if (!lx.finite) return false;
  const int64_t in = w.in_features;
  for_each_tile(pool, x, in, num_rows, y, w.out_features, kRowTile, kOutTile, 0,
                [&](const LinearTile& t) {
                  const int64_t r0 = (t.x - x) / in;
                  if (i8mm) {
                    tile_smmla(w, lx, x, y, r0, t.num_rows, num_rows, t.o_begin, t.o_end);
                  } else {
                    tile_sdot(w, lx, x, y, r0, t.num_rows, t.o_begin, t.o_end);
                  }
                });
  return true;
}

}  // namespace fathom::kernels::cpu

#else  // not ARM: never selected (neon_isa_available is false); keep the symbol defined.

namespace fathom::kernels::cpu {
bool linear_neon_int8(const LinearWeight&, const float*, int64_t, float*, ThreadPool&, bool) {
  return false;
}
}  // namespace fathom::kernels::cpu

#endif
