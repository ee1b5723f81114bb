// GGML block formats. Layouts and the arithmetic of each dequantizer follow llama.cpp's
// ggml-common.h block structs and ggml-quants.c dequantize_row_* (the order of float operations
// is kept, so values match llama.cpp's bit for bit). Every f16 field is read with memcpy: blocks
// have no alignment.
#include "kernels/ggml_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref/ggml_block_pack.h"
#include "tensor/dtype.h"

namespace fathom::kernels {

namespace {

constexpr int kQK = 32;     // elements per block of the 32-element types
constexpr int kQK_K = 256;  // elements per super-block of the k-quants and IQ4_XS

// IQ4_NL / IQ4_XS code book (ggml-common.h kvalues_iq4nl).
constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                   1,    13,   25,  38,  53,  69,  89,  113};

float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}
void put_half(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}
int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

// Q4_K / Q5_K: 6-bit scale and min of sub-block j from the 12 packed bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// ---- dequantization, one block --------------------------------------------------------------

// block_q4_0 {f16 d; u8 qs[16]}: y[j] = (lo(qs[j]) - 8) d, y[j + 16] = (hi(qs[j]) - 8) d.
void dq_q4_0(const uint8_t* b, float* y) {
  const float d = half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + kQK / 2] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// block_q4_1 {f16 d, m; u8 qs[16]}: y = q d + m.
void dq_q4_1(const uint8_t* b, float* y) {
  const float d = half(b), m = half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + kQK / 2] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// block_q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: 5-bit codes, bit 4 of element j in qh bit j.
void dq_q5_0(const uint8_t* b, float* y) {
  const float d = half(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < kQK / 2; ++j) {
    const uint8_t xh0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
    const uint8_t xh1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
    y[j] = static_cast<float>(((qs[j] & 0x0F) | xh0) - 16) * d;
    y[j + kQK / 2] = static_cast<float>(((qs[j] >> 4) | xh1) - 16) * d;
  }
}

// block_q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}.
void dq_q5_1(const uint8_t* b, float* y) {
  const float d = half(b), m = half(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < kQK / 2; ++j) {
    const uint8_t xh0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
    const uint8_t xh1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
    y[j] = static_cast<float>((qs[j] & 0x0F) | xh0) * d + m;
    y[j + kQK / 2] = static_cast<float>((qs[j] >> 4) | xh1) * d + m;
  }
}

// block_q8_0 {f16 d; i8 qs[32]}.
void dq_q8_0(const uint8_t* b, float* y) {
  const float d = half(b);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// block_q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}: sub-block s of 16 has scale
// d * lo(scales[s]) and min dmin * hi(scales[s]); element e's 2 bits are at qs[e/128*32 + e%32]
// bits 2 * (e%128/32).
void dq_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = half(b + 80), min = half(b + 82);
  int is = 0;
  for (int n = 0; n < kQK_K; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      uint8_t sc = scales[is++];
      float dl = d * static_cast<float>(sc & 0xF), ml = min * static_cast<float>(sc >> 4);
      for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
      sc = scales[is++];
      dl = d * static_cast<float>(sc & 0xF);
      ml = min * static_cast<float>(sc >> 4);
      for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[l + 16] >> shift) & 3) - ml;
      shift += 2;
    }
    q += 32;
  }
}

// Q3_K's 16 signed 6-bit scales (stored + 32) from the 12 packed bytes: low nibbles in bytes
// 0..7, high 2 bits in bytes 8..11.
void q3k_scales(const uint8_t* packed, int8_t* scales) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    const int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = static_cast<int8_t>((lo | (hi << 4)) - 32);
  }
}

// block_q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: 3-bit codes as 2 low bits (qs, as
// in Q2_K) and a high bit (hmask[e%32] bit e/32, clear means minus 4).
void dq_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hm = b;
  const uint8_t* q = b + 32;
  int8_t scales[16];
  q3k_scales(b + 96, scales);
  const float d_all = half(b + 108);
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < kQK_K; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      float dl = d_all * static_cast<float>(scales[is++]);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>(((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
      dl = d_all * static_cast<float>(scales[is++]);
      for (int l = 0; l < 16; ++l)
        *y++ = dl * static_cast<float>(((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
      shift += 2;
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

// block_q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}: 8 sub-blocks of 32, each with a 6-bit
// scale and min; 64 elements per 32 bytes of qs (low nibbles first).
void dq_q4_k(const uint8_t* b, float* y) {
  const float d = half(b), min = half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  int is = 0;
  for (int j = 0; j < kQK_K; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is + 0, scales, sc, m);
    const float d1 = d * sc, m1 = min * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// block_q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}: Q4_K plus a fifth bit.
void dq_q5_k(const uint8_t* b, float* y) {
  const float d = half(b), min = half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < kQK_K; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is + 0, scales, sc, m);
    const float d1 = d * sc, m1 = min * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: 6-bit codes minus 32, 16 sub-blocks.
void dq_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half(b + 208);
  for (int n = 0; n < kQK_K; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// block_iq4_nl {f16 d; u8 qs[16]}: y = d * kIq4Values[index].
void dq_iq4_nl(const uint8_t* b, float* y) {
  const float d = half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = d * static_cast<float>(kIq4Values[qs[j] & 0xF]);
    y[j + kQK / 2] = d * static_cast<float>(kIq4Values[qs[j] >> 4]);
  }
}

// block_iq4_xs {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: 8 sub-blocks of 32 with a
// 6-bit scale (minus 32): low 4 bits in scales_l, high 2 in scales_h.
void dq_iq4_xs(const uint8_t* b, float* y) {
  const float d = half(b);
  uint16_t scales_h;
  std::memcpy(&scales_h, b + 2, 2);
  const uint8_t* scales_l = b + 4;
  const uint8_t* qs = b + 8;
  for (int ib = 0; ib < kQK_K / 32; ++ib) {
    const int ls = ((scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((scales_h >> 2 * ib) & 3) << 4);
    const float dl = d * static_cast<float>(ls - 32);
    for (int j = 0; j < 16; ++j) {
      y[j + 0] = dl * static_cast<float>(kIq4Values[qs[j] & 0xf]);
      y[j + 16] = dl * static_cast<float>(kIq4Values[qs[j] >> 4]);
    }
    y += 32;
    qs += 16;
  }
}

// ---- round-to-nearest quantization, one block -------------------------------------------------

float abs_max(const float* x, int n) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}
// The element of largest magnitude, with its sign.
float signed_max(const float* x, int n) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(m)) m = x[i];
  return m;
}
float inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

void q_q8_0(const float* x, uint8_t* b) {
  const float d = abs_max(x, kQK) / 127.0f, id = inverse(d);
  put_half(b, d);
  for (int j = 0; j < kQK; ++j)
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(nearest(x[j] * id)));
}

// Q4_0 / Q5_0: symmetric, the largest magnitude maps to code 0 (-8 / -16 after the offset).
void q_sym(const float* x, uint8_t* b, int bits) {
  const int levels = 1 << bits, offset = levels / 2;
  const float d = signed_max(x, kQK) / static_cast<float>(-offset), id = inverse(d);
  put_half(b, d);
  uint8_t* qs = b + (bits == 4 ? 2 : 6);
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::clamp(nearest(x[j] * id) + offset, 0, levels - 1);
    const int q1 = std::clamp(nearest(x[j + 16] * id) + offset, 0, levels - 1);
    qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  if (bits == 5) std::memcpy(b + 2, &qh, 4);
}

// Q4_1 / Q5_1: min and step.
void q_affine(const float* x, uint8_t* b, int bits) {
  const int levels = 1 << bits;
  const float lo = *std::min_element(x, x + kQK), hi = *std::max_element(x, x + kQK);
  const float d = (hi - lo) / static_cast<float>(levels - 1), id = inverse(d);
  put_half(b, d);
  put_half(b + 2, lo);
  uint8_t* qs = b + (bits == 4 ? 4 : 8);
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::clamp(nearest((x[j] - lo) * id), 0, levels - 1);
    const int q1 = std::clamp(nearest((x[j + 16] - lo) * id), 0, levels - 1);
    qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
  }
  if (bits == 5) std::memcpy(b + 4, &qh, 4);
}

int nearest_iq4(float v) {
  int best = 0;
  for (int k = 1; k < 16; ++k)
    if (std::fabs(v - kIq4Values[k]) < std::fabs(v - kIq4Values[best])) best = k;
  return best;
}

void q_iq4_nl(const float* x, uint8_t* b) {
  const float d = signed_max(x, kQK) / -127.0f, id = inverse(d);
  put_half(b, d);
  for (int j = 0; j < kQK / 2; ++j)
    b[2 + j] = static_cast<uint8_t>(nearest_iq4(x[j] * id) | (nearest_iq4(x[j + 16] * id) << 4));
}

// The element codes of an asymmetric k-quant: per sub-block of `sub` elements a scale and a
// min (x = d * ls * q - dmin * lm), with ls and lm quantized to `scale_levels`.
struct AffineSubBlocks {
  float d = 0, dmin = 0;
  int ls[16] = {}, lm[16] = {};
  uint8_t q[kQK_K] = {};
};

AffineSubBlocks affine_sub_blocks(const float* x, int sub, int code_max, int scale_max) {
  AffineSubBlocks r;
  const int n_sub = kQK_K / sub;
  float scale[16], min[16], max_scale = 0, max_min = 0;
  for (int s = 0; s < n_sub; ++s) {
    const float* xs = x + s * sub;
    const float lo = std::min(0.0f, *std::min_element(xs, xs + sub));
    const float hi = *std::max_element(xs, xs + sub);
    scale[s] = (hi - lo) / static_cast<float>(code_max);
    min[s] = -lo;
    max_scale = std::max(max_scale, scale[s]);
    max_min = std::max(max_min, min[s]);
  }
  r.d = f16_to_f32(f32_to_f16(max_scale / static_cast<float>(scale_max)));
  r.dmin = f16_to_f32(f32_to_f16(max_min / static_cast<float>(scale_max)));
  for (int s = 0; s < n_sub; ++s) {
    r.ls[s] = std::clamp(nearest(scale[s] * inverse(r.d)), 0, scale_max);
    r.lm[s] = std::clamp(nearest(min[s] * inverse(r.dmin)), 0, scale_max);
    const float step = r.d * static_cast<float>(r.ls[s]), m = r.dmin * static_cast<float>(r.lm[s]);
    for (int i = 0; i < sub; ++i)
      r.q[s * sub + i] = static_cast<uint8_t>(
          std::clamp(nearest((x[s * sub + i] + m) * inverse(step)), 0, code_max));
  }
  return r;
}

// Q2_K / Q3_K element layout: element e's 2 low bits at qs[e/128*32 + e%32], shift 2*(e%128/32).
void pack_2bit(const uint8_t* codes, uint8_t* qs) {
  std::memset(qs, 0, 64);
  for (int e = 0; e < kQK_K; ++e)
    qs[e / 128 * 32 + e % 32] |= static_cast<uint8_t>((codes[e] & 3) << (2 * (e % 128 / 32)));
}

void q_q2_k(const float* x, uint8_t* b) {
  const AffineSubBlocks r = affine_sub_blocks(x, 16, 3, 15);
  for (int s = 0; s < 16; ++s) b[s] = static_cast<uint8_t>(r.ls[s] | (r.lm[s] << 4));
  pack_2bit(r.q, b + 16);
  put_half(b + 80, r.d);
  put_half(b + 82, r.dmin);
}

void q_q3_k(const float* x, uint8_t* b) {
  float scale[16], max_scale = 0;
  for (int s = 0; s < 16; ++s) {
    scale[s] = signed_max(x + 16 * s, 16) / -4.0f;
    if (std::fabs(scale[s]) > std::fabs(max_scale)) max_scale = scale[s];
  }
  const float d = f16_to_f32(f32_to_f16(max_scale / -32.0f));
  uint8_t* packed = b + 96;
  std::memset(packed, 0, 12);
  uint8_t codes[kQK_K];
  std::memset(b, 0, 32);  // hmask
  for (int s = 0; s < 16; ++s) {
    const int l = std::clamp(nearest(scale[s] * inverse(d)), -32, 31);
    const int stored = l + 32;
    if (s < 8)
      packed[s] = static_cast<uint8_t>(packed[s] | (stored & 0xF));
    else
      packed[s - 8] = static_cast<uint8_t>(packed[s - 8] | ((stored & 0xF) << 4));
    packed[8 + s % 4] = static_cast<uint8_t>(packed[8 + s % 4] | ((stored >> 4) << (2 * (s / 4))));
    const float step = d * static_cast<float>(l);
    for (int i = 0; i < 16; ++i) {
      const int e = 16 * s + i;
      const int q = std::clamp(nearest(x[e] * inverse(step)), -4, 3) + 4;  // 0..7
      codes[e] = static_cast<uint8_t>(q & 3);
      if (q > 3) b[e % 32] = static_cast<uint8_t>(b[e % 32] | (1 << (e / 32)));
    }
  }
  pack_2bit(codes, b + 32);
  put_half(b + 108, d);
}

void q_q45_k(const float* x, uint8_t* b, int bits) {
  const AffineSubBlocks r = affine_sub_blocks(x, 32, (1 << bits) - 1, 63);
  uint8_t ls[8], lm[8];
  for (int s = 0; s < 8; ++s) {
    ls[s] = static_cast<uint8_t>(r.ls[s]);
    lm[s] = static_cast<uint8_t>(r.lm[s]);
  }
  pack_q45_k(r.d, r.dmin, ls, lm, r.q, bits, b);
}

void q_q6_k(const float* x, uint8_t* b) {
  float scale[16], max_scale = 0;
  for (int s = 0; s < 16; ++s) {
    scale[s] = signed_max(x + 16 * s, 16) / -32.0f;
    if (std::fabs(scale[s]) > std::fabs(max_scale)) max_scale = scale[s];
  }
  const float d = f16_to_f32(f32_to_f16(max_scale / -128.0f));
  int8_t sc[16];
  uint8_t q[kQK_K];
  for (int s = 0; s < 16; ++s) {
    const int l = std::clamp(nearest(scale[s] * inverse(d)), -128, 127);
    sc[s] = static_cast<int8_t>(l);
    const float step = d * static_cast<float>(l);
    for (int i = 0; i < 16; ++i)
      q[16 * s + i] =
          static_cast<uint8_t>(std::clamp(nearest(x[16 * s + i] * inverse(step)), -32, 31) + 32);
  }
  pack_q6_k(d, sc, q, b);
}

void q_iq4_xs(const float* x, uint8_t* b) {
  float scale[8], max_scale = 0;
  for (int s = 0; s < 8; ++s) {
    scale[s] = signed_max(x + 32 * s, 32) / -127.0f;
    max_scale = std::max(max_scale, std::fabs(scale[s]));
  }
  const float d = f16_to_f32(f32_to_f16(max_scale / 31.0f));
  put_half(b, d);
  uint16_t scales_h = 0;
  uint8_t* scales_l = b + 4;
  std::memset(scales_l, 0, 4);
  for (int s = 0; s < 8; ++s) {
    const int l = std::clamp(nearest(scale[s] * inverse(d)), -32, 31);
    const int stored = l + 32;
    scales_l[s / 2] = static_cast<uint8_t>(scales_l[s / 2] | ((stored & 0xF) << (4 * (s % 2))));
    scales_h = static_cast<uint16_t>(scales_h | ((stored >> 4) << (2 * s)));
    const float id = inverse(d * static_cast<float>(l));
    uint8_t* qs = b + 8 + 16 * s;
    for (int j = 0; j < 16; ++j)
      qs[j] = static_cast<uint8_t>(nearest_iq4(x[32 * s + j] * id) |
                                   (nearest_iq4(x[32 * s + j + 16] * id) << 4));
  }
  std::memcpy(b + 2, &scales_h, 2);
}

void q_q4_0(const float* x, uint8_t* b) { q_sym(x, b, 4); }
void q_q5_0(const float* x, uint8_t* b) { q_sym(x, b, 5); }
void q_q4_1(const float* x, uint8_t* b) { q_affine(x, b, 4); }
void q_q5_1(const float* x, uint8_t* b) { q_affine(x, b, 5); }
void q_q4_k(const float* x, uint8_t* b) { q_q45_k(x, b, 4); }
void q_q5_k(const float* x, uint8_t* b) { q_q45_k(x, b, 5); }

// The block types: one block's dequantizer and quantizer each.
struct BlockCodec {
  GgmlType type;
  void (*dequantize)(const uint8_t*, float*);
  void (*quantize)(const float*, uint8_t*);
};
constexpr BlockCodec kCodecs[] = {
    {GgmlType::kQ4_0, &dq_q4_0, &q_q4_0},       {GgmlType::kQ4_1, &dq_q4_1, &q_q4_1},
    {GgmlType::kQ5_0, &dq_q5_0, &q_q5_0},       {GgmlType::kQ5_1, &dq_q5_1, &q_q5_1},
    {GgmlType::kQ8_0, &dq_q8_0, &q_q8_0},       {GgmlType::kQ2_K, &dq_q2_k, &q_q2_k},
    {GgmlType::kQ3_K, &dq_q3_k, &q_q3_k},       {GgmlType::kQ4_K, &dq_q4_k, &q_q4_k},
    {GgmlType::kQ5_K, &dq_q5_k, &q_q5_k},       {GgmlType::kQ6_K, &dq_q6_k, &q_q6_k},
    {GgmlType::kIQ4_NL, &dq_iq4_nl, &q_iq4_nl}, {GgmlType::kIQ4_XS, &dq_iq4_xs, &q_iq4_xs},
};

const BlockCodec* codec(GgmlType t) {
  for (const BlockCodec& c : kCodecs)
    if (c.type == t) return &c;
  return nullptr;  // F32, F16, BF16: element types
}

}  // namespace

void ggml_dequantize(GgmlType t, const uint8_t* src, int64_t n, float* out) {
  if (const BlockCodec* c = codec(t)) {
    const int64_t be = ggml_block_elements(t), bb = ggml_block_bytes(t);
    for (int64_t k = 0; k < n / be; ++k) c->dequantize(src + k * bb, out + k * be);
    return;
  }
  if (t == GgmlType::kF32) {
    std::memcpy(out, src, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {  // F16, BF16
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = t == GgmlType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
  }
}

void ggml_quantize(GgmlType t, const float* x, int64_t n, uint8_t* dst) {
  if (const BlockCodec* c = codec(t)) {
    const int64_t be = ggml_block_elements(t), bb = ggml_block_bytes(t);
    for (int64_t k = 0; k < n / be; ++k) c->quantize(x + k * be, dst + k * bb);
    return;
  }
  if (t == GgmlType::kF32) {
    std::memcpy(dst, x, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {  // F16, BF16
    const uint16_t h = t == GgmlType::kF16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

void pack_q45_k(float d, float dmin, const uint8_t* ls, const uint8_t* lm, const uint8_t* codes,
                int bits, uint8_t* b) {
  put_half(b, d);
  put_half(b + 2, dmin);
  uint8_t* scales = b + 4;
  std::memset(scales, 0, 12);
  for (int s = 0; s < 8; ++s) {
    if (s < 4) {
      scales[s] = ls[s];
      scales[s + 4] = lm[s];
    } else {
      scales[s + 4] = static_cast<uint8_t>((ls[s] & 0xF) | ((lm[s] & 0xF) << 4));
      scales[s - 4] = static_cast<uint8_t>(scales[s - 4] | ((ls[s] >> 4) << 6));
      scales[s] = static_cast<uint8_t>(scales[s] | ((lm[s] >> 4) << 6));
    }
  }
  uint8_t* qh = b + 16;
  uint8_t* qs = b + (bits == 4 ? 16 : 48);
  if (bits == 5) std::memset(qh, 0, 32);
  for (int e = 0; e < 256; ++e) {
    const int chunk = e / 64, l = e % 32, high_half = (e % 64) / 32;
    uint8_t& byte = qs[chunk * 32 + l];
    if (high_half)
      byte = static_cast<uint8_t>((byte & 0x0F) | ((codes[e] & 0xF) << 4));
    else
      byte = static_cast<uint8_t>((byte & 0xF0) | (codes[e] & 0xF));
    if (bits == 5 && (codes[e] & 0x10))
      qh[l] = static_cast<uint8_t>(qh[l] | (1 << (2 * chunk + high_half)));
  }
}

void pack_q6_k(float d, const int8_t* scales, const uint8_t* codes, uint8_t* b) {
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  for (int n = 0; n < 256; n += 128) {
    const uint8_t* qn = codes + n;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((qn[l] & 0xF) | ((qn[l + 64] & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((qn[l + 32] & 0xF) | ((qn[l + 96] & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((qn[l] >> 4) | ((qn[l + 32] >> 4) << 2) |
                                   ((qn[l + 64] >> 4) << 4) | ((qn[l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
  std::memcpy(b + 192, scales, 16);
  put_half(b + 208, d);
}

}  // namespace fathom::kernels
