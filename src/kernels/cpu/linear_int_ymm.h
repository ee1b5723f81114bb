// The 256-bit operations of the integer kernel (linear_int_dot.h) shared by the AVX-VNNI and
// plain AVX2 files: include AFTER the file's `#pragma GCC target` and derive the file's Traits
// from YmmOps<a tag type of the file's own> (so no copy is shared across targets), adding
// dot_us / dot_q8 / kQ8Offset (and for linear_int_ggml.h: kGgmlRows, scales, dot_us_scaled, from
// factors16 on vpmaddubsw + vpmaddwd, factors32 on vpdpbusd + vpmulld).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fathom::kernels::cpu {

template <class Tag>
struct YmmOps {
  using VI = __m256i;
  using VF = __m256;
  static constexpr int64_t kBytes = 32;  // one chunk: blocks never need a half step
  static constexpr bool kPairSums16 = false;  // see YmmAvx2
  static VI zero() { return _mm256_setzero_si256(); }
  static VF set1(float v) { return _mm256_set1_ps(v); }
  static VF to_f(VI v) { return _mm256_cvtepi32_ps(v); }
  static VF fmadd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
  static float reduce(VF v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
  static VI sub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
  static VI offset_bytes() { return _mm256_set1_epi8(static_cast<char>(0x80)); }
  template <bool kHalf>
  static VI load(const int8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  // int8 bytes[a] (columns 0..15 of a chunk) and bytes[b] (16..31), by int16 pairs of columns
  // (the lanes of vpmaddubsw) or int32 quads (the lanes of vpdpbusd).
  static VI factors16(__m128i bytes, int a, int b) {
    const uint64_t k = 0x0101010101010101u;
    const __m128i idx = _mm_set_epi64x(static_cast<int64_t>(k * static_cast<uint64_t>(b)),
                                       static_cast<int64_t>(k * static_cast<uint64_t>(a)));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(bytes, idx));
  }
  static VI factors32(__m128i bytes, int a, int b) {
    const uint64_t k = 0x01010101u;
    const __m128i idx = _mm_cvtsi64_si128(static_cast<int64_t>(
        (k * static_cast<uint64_t>(b)) << 32 | (k * static_cast<uint64_t>(a))));
    return _mm256_cvtepi8_epi32(_mm_shuffle_epi8(bytes, idx));
  }
  // 16 bytes (one chunk) -> [low nibbles, high nibbles].
  template <bool kHalf>
  static VI load_q4(const uint8_t* p) {
    const __m256i b =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4)),
                            _mm256_set1_epi8(0x0f));
  }
};

}  // namespace fathom::kernels::cpu
