// SIMD dequantization of the common GGML block types (Q8_0, Q4_0, Q4_K, Q6_K), shared by the
// instruction-set files (x86 with F16C, or AArch64 NEON) like linear_int_dot.h: include it AFTER
// the file's `#pragma GCC target` and instantiate it with a Traits type of that file's own:
//   kLanes; VI, VF                 int32 and float vectors of kLanes lanes
//   load_u8(p), load_i8(p)         kLanes bytes at p widened to int32 (zero / sign extended)
//   and_(a, m), or_(a, b), sub(a, b), srli<n>(a), slli<n>(a), set1i(v)   int32 lane ops
//   to_f(VI), set1(float), mul(VF, VF), fsub(VF, VF), store(float*, VF)
//
// Every value equals kernels/ref/ggml_blocks.cpp's bit for bit: the same float operations in the
// same order (a product, then a difference for Q4_K), one lane at a time. The files that include
// this are compiled with -ffp-contract=off so that no product and difference fuse into an FMA.
#pragma once

#include <cstdint>
#include <cstring>

#include "tensor/ggml_type.h"

namespace fathom::kernels::cpu::ggml_simd {

/// The f16 at p (blocks have no alignment) by the hardware's conversion (F16C, or AArch64's
/// fcvt): exact, the value f16_to_f32 gives for every half but a NaN.
inline float half_at(const uint8_t* p) {
#if defined(__aarch64__)
  __fp16 h;
  std::memcpy(&h, p, 2);
  return static_cast<float>(h);
#else
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
#endif
}

// block_q8_0 {f16 d; i8 qs[32]}: y = q d.
template <class T>
void q8_0(const uint8_t* b, int64_t blocks, float* y) {
  for (int64_t k = 0; k < blocks; ++k, b += 34, y += 32) {
    const auto d = T::set1(half_at(b));
    for (int j = 0; j < 32; j += T::kLanes)
      T::store(y + j, T::mul(T::to_f(T::load_i8(b + 2 + j)), d));
  }
}

// block_q4_0 {f16 d; u8 qs[16]}: y[j] = (lo(qs[j]) - 8) d, y[j + 16] = (hi(qs[j]) - 8) d.
template <class T>
void q4_0(const uint8_t* b, int64_t blocks, float* y) {
  const auto m4 = T::set1i(0xF), eight = T::set1i(8);
  for (int64_t k = 0; k < blocks; ++k, b += 18, y += 32) {
    const auto d = T::set1(half_at(b));
    for (int j = 0; j < 16; j += T::kLanes) {
      const auto q = T::load_u8(b + 2 + j);
      T::store(y + j, T::mul(T::to_f(T::sub(T::and_(q, m4), eight)), d));
      T::store(y + 16 + j, T::mul(T::to_f(T::sub(T::template srli<4>(q), eight)), d));
    }
  }
}

// Q4_K's 6-bit scale and min of sub-block j from the 12 packed bytes (ggml's get_scale_min_k4).
inline void scale_min_k4(int j, const uint8_t* q, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// block_q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}: per 64 elements two sub-blocks of 32,
// y = (d sc) q - (dmin m), the low nibbles of 32 bytes first.
template <class T>
void q4_k(const uint8_t* b, int64_t blocks, float* y) {
  const auto m4 = T::set1i(0xF);
  for (int64_t k = 0; k < blocks; ++k, b += 144) {
    const float d = half_at(b), dmin = half_at(b + 2);
    const uint8_t* q = b + 16;
    for (int is = 0; is < 8; is += 2, q += 32, y += 64) {
      int sc, m;
      scale_min_k4(is, b + 4, sc, m);
      const auto d1 = T::set1(d * static_cast<float>(sc)),
                 m1 = T::set1(dmin * static_cast<float>(m));
      scale_min_k4(is + 1, b + 4, sc, m);
      const auto d2 = T::set1(d * static_cast<float>(sc)),
                 m2 = T::set1(dmin * static_cast<float>(m));
      for (int l = 0; l < 32; l += T::kLanes) {
        const auto v = T::load_u8(q + l);
        T::store(y + l, T::fsub(T::mul(d1, T::to_f(T::and_(v, m4))), m1));
        T::store(y + 32 + l, T::fsub(T::mul(d2, T::to_f(T::template srli<4>(v))), m2));
      }
    }
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: 6-bit codes minus 32, sub-blocks
// of 16, y = (d sc) q.
template <class T>
void q6_k(const uint8_t* b, int64_t blocks, float* y) {
  static_assert(16 % T::kLanes == 0, "a vector must not straddle two Q6_K sub-blocks");
  const auto m4 = T::set1i(0xF), m2 = T::set1i(3), c32 = T::set1i(32);
  for (int64_t k = 0; k < blocks; ++k, b += 210) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = half_at(b + 208);
    for (int n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8, y += 128) {
      for (int l = 0; l < 32; l += T::kLanes) {
        const int is = l / 16;
        const auto lo = T::load_u8(ql + l), hi = T::load_u8(ql + l + 32), h = T::load_u8(qh + l);
        const auto q1 = T::or_(T::and_(lo, m4), T::template slli<4>(T::and_(h, m2)));
        const auto q2 =
            T::or_(T::and_(hi, m4), T::template slli<4>(T::and_(T::template srli<2>(h), m2)));
        const auto q3 = T::or_(T::template srli<4>(lo),
                               T::template slli<4>(T::and_(T::template srli<4>(h), m2)));
        const auto q4 =
            T::or_(T::template srli<4>(hi), T::template slli<4>(T::template srli<6>(h)));
        const auto scaled = [&](int s, auto q) {
          return T::mul(T::set1(d * static_cast<float>(sc[is + s])), T::to_f(T::sub(q, c32)));
        };
        T::store(y + l, scaled(0, q1));
        T::store(y + l + 32, scaled(2, q2));
        T::store(y + l + 64, scaled(4, q3));
        T::store(y + l + 96, scaled(6, q4));
      }
    }
  }
}

/// out[0, n) from the blocks at src when t is one of the types above; false otherwise.
template <class T>
bool dequantize(GgmlType t, const uint8_t* src, int64_t n, float* out) {
  switch (t) {
    case GgmlType::kQ8_0:
      return q8_0<T>(src, n / 32, out), true;
    case GgmlType::kQ4_0:
      return q4_0<T>(src, n / 32, out), true;
    case GgmlType::kQ4_K:
      return q4_k<T>(src, n / 256, out), true;
    case GgmlType::kQ6_K:
      return q6_k<T>(src, n / 256, out), true;
    default:
      return false;
  }
}

}  // namespace fathom::kernels::cpu::ggml_simd
