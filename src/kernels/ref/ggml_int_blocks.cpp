// The integer form of the GGML blocks (kernels/ggml_int.h), read field by field from the
// layouts that kernels/ref/ggml_blocks.cpp dequantizes; ggml_blocks_test checks that
// d * scale * q - dmin * min is ggml_dequantize's value.
#include <cstring>

#include "kernels/ggml_int.h"
#include "tensor/dtype.h"

namespace fathom::kernels {

namespace {

float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// block_q8_0 {f16 d; i8 qs[32]}.
void int_q8_0(const uint8_t* b, GgmlIntBlock* out) {
  out->d = half(b);
  for (int j = 0; j < 32; ++j) {
    out->q[j] = static_cast<int8_t>(b[2 + j]);
    out->scale[j] = 1;
  }
}

// block_q4_0 {f16 d; u8 qs[16]}: weight j (low nibble) and j + 16 (high) of qs[j], minus 8.
void int_q4_0(const uint8_t* b, GgmlIntBlock* out) {
  out->d = half(b);
  for (int j = 0; j < 16; ++j) {
    out->q[j] = (b[2 + j] & 0xF) - 8;
    out->q[j + 16] = (b[2 + j] >> 4) - 8;
  }
  for (int j = 0; j < 32; ++j) out->scale[j] = 1;
}

// block_q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: as Q4_0, with bit j of qh (little-endian u32) as
// bit 4 of weight j, minus 16.
void int_q5_0(const uint8_t* b, GgmlIntBlock* out) {
  out->d = half(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  for (int j = 0; j < 16; ++j) {
    out->q[j] = ((b[6 + j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
    out->q[j + 16] = ((b[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
  }
  for (int j = 0; j < 32; ++j) out->scale[j] = 1;
}

// block_q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]} and block_q5_K {f16 d, dmin;
// u8 scales[12]; u8 qh[32]; u8 qs[128]}: sub-block s (32 weights) has a 6-bit scale and min; qs
// byte 32 i + l holds weight 64 i + l (low nibble) and 64 i + 32 + l (high); Q5_K's fifth bit
// of weight 32 s + l is bit s of qh[l].
void int_q45_k(const uint8_t* b, bool five, GgmlIntBlock* out) {
  out->d = half(b);
  out->dmin = half(b + 2);
  const uint8_t* q = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + (five ? 48 : 16);
  for (int s = 0; s < 8; ++s) {
    const int sc = s < 4 ? q[s] & 63 : (q[s + 4] & 0xF) | ((q[s - 4] >> 6) << 4);
    const int m = s < 4 ? q[s + 4] & 63 : (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
    for (int l = 0; l < 32; ++l) {
      const uint8_t byte = qs[(s / 2) * 32 + l];
      const int high = five ? ((qh[l] >> s) & 1) << 4 : 0;
      out->q[s * 32 + l] = ((s & 1) ? byte >> 4 : byte & 0xF) | high;
      out->scale[s * 32 + l] = sc;
      out->min[s * 32 + l] = m;
    }
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: weight 128 n + 32 k + l (k = 0..3,
// l = 0..31) has low bits in ql[64 n + 32 (k & 1) + l] (nibble k / 2), high bits 2k..2k+1 of
// qh[32 n + l], and the scale of its 16-weight sub-block.
void int_q6_k(const uint8_t* b, GgmlIntBlock* out) {
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  out->d = half(b + 208);
  for (int j = 0; j < 256; ++j) {
    const int n = j / 128, k = (j % 128) / 32, l = j % 32;
    const uint8_t lo = b[64 * n + 32 * (k & 1) + l];
    const int hi = (b[128 + 32 * n + l] >> (2 * k)) & 3;
    out->q[j] = (((k < 2 ? lo & 0xF : lo >> 4)) | (hi << 4)) - 32;
    out->scale[j] = sc[j / 16];
  }
}

}  // namespace

bool ggml_int_type(GgmlType t) {
  return t == GgmlType::kQ8_0 || t == GgmlType::kQ4_0 || t == GgmlType::kQ5_0 ||
         t == GgmlType::kQ4_K || t == GgmlType::kQ5_K || t == GgmlType::kQ6_K;
}

void ggml_int_block(GgmlType t, const uint8_t* src, GgmlIntBlock* out) {
  *out = GgmlIntBlock{};
  switch (t) {
    case GgmlType::kQ8_0:
      return int_q8_0(src, out);
    case GgmlType::kQ4_0:
      return int_q4_0(src, out);
    case GgmlType::kQ5_0:
      return int_q5_0(src, out);
    case GgmlType::kQ4_K:
      return int_q45_k(src, false, out);
    case GgmlType::kQ5_K:
      return int_q45_k(src, true, out);
    case GgmlType::kQ6_K:
      return int_q6_k(src, out);
    default:
      return;
  }
}

}  // namespace fathom::kernels
