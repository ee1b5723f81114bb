// The AVX-512 VNNI integer kernels' two helpers, for files compiled with avx512vnni in their
// #pragma GCC target (include after it; x86 only).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace fathom::kernels::cpu {

/// acc += u8 u . s8 s in 4-byte groups. Inline asm: with _mm512_dpbusd_epi32 GCC 12 copies every
/// accumulator of a tile to another register and back on each iteration (the tied operand),
/// which doubles the uops of an inner loop.
inline __m512i dpbusd(__m512i acc, __m512i u, __m512i s) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
  return acc;
}

/// 4 bytes at p, any alignment.
inline int32_t load4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace fathom::kernels::cpu
