// AVX-512F many-row linear kernel (prefill, chunked prefill, batched decode): the packed-panel
// GEMM of linear_panel.h with 32 outputs per task and a 12 x 32 micro-kernel (24 zmm
// accumulators, 2 panel vectors and a broadcast in 32 registers: 24 FMAs for 2 loads and 12
// broadcasts per column). Everything after the `#pragma GCC target` line is compiled for
// AVX-512F only; linear_cpu.cpp calls in here only when __builtin_cpu_supports says the CPU has
// it (headers come first, as in linear_cpu_avx2.cpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear_weight.h"
#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,f16c")
// GCC 12's AVX-512 conversion intrinsics start from _mm512_undefined_*(), which it then
// reports as "may be used uninitialized" (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/decode_row_simd.h"  // after the pragma: compiled for AVX-512F
#include "kernels/cpu/linear_panel.h"     // likewise

namespace fathom::kernels::cpu {
namespace {

struct Avx512Panel {
  static constexpr int64_t kOut = kPanelOut;
  static constexpr int kMr = 12;

  template <int MR>
  static void micro(const float* panel, int64_t kc, const float* x, int64_t x_stride, float* acc);
  static void decode_row(const LinearWeight& w, int64_t o, float* buf);
};

template <int MR>
void Avx512Panel::micro(const float* panel, int64_t kc, const float* x, int64_t x_stride,
                        float* acc) {
  // Every loop over i is unrolled, so the accumulators live in registers.
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(panel + k * kPanelOut);
    const __m512 b1 = _mm512_loadu_ps(panel + k * kPanelOut + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(x[i * x_stride + k]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* row = acc + i * kPanelOut;
    _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), c0[i]));
    _mm512_storeu_ps(row + 16, _mm512_add_ps(_mm512_loadu_ps(row + 16), c1[i]));
  }
}

// decode_row_simd's vectors: 16 values.
struct DecodeZmm {
  using VF = __m512;
  static constexpr int64_t kLanes = 16;
  static VF set1(float v) { return _mm512_set1_ps(v); }
  static void int8(const int8_t* q, VF scale, float* out) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), scale));
  }
  static void int4(const uint8_t* q, int zero, VF scale, float* out) {
    const __m128i b = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
    const __m128i lo = _mm_and_si128(b, _mm_set1_epi16(0x0f));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi16(0x0f));
    const __m128i nibbles = _mm_or_si128(lo, _mm_slli_epi16(hi, 8));  // lo0 hi0 lo1 hi1 ...
    const __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(nibbles), _mm512_set1_epi32(zero));
    _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale));
  }
  static void fp8(const uint8_t* q, const float* lut, VF scale, float* out) {
    const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_i32gather_ps(idx, lut, 4), scale));
  }
};

// Row o of W as fp32, 16 at a time for the 16-bit float formats (bf16: widen and shift; f16:
// vcvtph2ps), exactly decode_row_scalar's values; quantized formats in decode_row_simd.
void Avx512Panel::decode_row(const LinearWeight& w, int64_t o, float* buf) {
  const int64_t in = w.in_features;
  if (w.format != WeightFormat::kBF16 && w.format != WeightFormat::kF16)
    return decode_row_simd<DecodeZmm>(w, o, buf);
  const uint16_t* row = static_cast<const uint16_t*>(w.values) + o * in;
  int64_t j = 0;
  for (; j + 16 <= in; j += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j));
    const __m512 v = w.format == WeightFormat::kBF16
                         ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))
                         : _mm512_cvtph_ps(h);
    _mm512_storeu_ps(buf + j, v);
  }
  for (; j < in; ++j)
    buf[j] = w.format == WeightFormat::kBF16 ? bf16_to_f32(row[j]) : f16_to_f32(row[j]);
}

}  // namespace

void linear_panel_avx512(const LinearWeight& w, const LinearTile& t) {
  run_linear_panel<Avx512Panel>(w, t);
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never called (isa_available(kAvx512) is false)

namespace fathom::kernels::cpu {
void linear_panel_avx512(const LinearWeight&, const LinearTile&) {}
}  // namespace fathom::kernels::cpu

#endif
