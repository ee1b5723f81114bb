// AVX-512F many-row linear kernel (prefill, chunked prefill, batched decode): a register-
// blocked outer-product GEMM over a packed weight panel. Everything after the `#pragma GCC
// target` line is compiled for AVX-512F only; linear_cpu.cpp calls in here only when
// __builtin_cpu_supports says the CPU has it (headers come first, as in linear_cpu_avx2.cpp).
//
// One task computes y[all rows, 32 outputs]. Its 32 weight rows are decoded to fp32 once (any
// format, decode_row_scalar), then for each block of kKc input columns they are packed
// transposed into a panel [kKc][32] that stays in L1, and a 12 x 32 micro-kernel keeps 24 zmm
// accumulators: per column k it loads two panel vectors and broadcasts one x value per row,
// 24 FMAs for 2 loads and 12 broadcasts, with no horizontal sums. Each column block's sums are
// added to the tile's accumulators, so rounding grows with blocks, not with every column.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/linear_cpu_internal.h"
#include "tensor/dtype.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,f16c")
// GCC 12's AVX-512 conversion intrinsics start from _mm512_undefined_*(), which it then
// reports as "may be used uninitialized" (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace fathom::kernels::cpu {
namespace {

constexpr int64_t kKc = 256;  // panel columns per block: 256 x 32 floats = 32 KiB

template <int MR>
void micro_kernel(const float* panel, int64_t kc, const float* x, int64_t x_stride, float* acc) {
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

using MicroKernel = void (*)(const float*, int64_t, const float*, int64_t, float*);
constexpr int kMr = 12;  // 12 x 32: 24 accumulators, 2 panel vectors and a broadcast in 32 zmm
constexpr MicroKernel kMicro[kMr + 1] = {
    nullptr,           &micro_kernel<1>,  &micro_kernel<2>, &micro_kernel<3>, &micro_kernel<4>,
    &micro_kernel<5>,  &micro_kernel<6>,  &micro_kernel<7>, &micro_kernel<8>, &micro_kernel<9>,
    &micro_kernel<10>, &micro_kernel<11>, &micro_kernel<12>};

// Row o of W as fp32, 16 at a time for the 16-bit float formats (bf16: widen and shift; f16:
// vcvtph2ps), exactly decode_row_scalar's values; the other formats through it.
void decode_row(const LinearWeight& w, int64_t o, float* buf) {
  const int64_t in = w.in_features;
  if (w.format != WeightFormat::kBF16 && w.format != WeightFormat::kF16)
    return decode_row_scalar(w, o, buf);
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
  const int64_t in = w.in_features, out = w.out_features, no = t.o_end - t.o_begin;
  thread_local std::vector<float> rows, panel, acc;
  thread_local uint64_t decoded_call = 0;
  thread_local int64_t decoded_o = -1;
  if (decoded_call != t.call_id || decoded_o != t.o_begin || t.call_id == 0) {
    rows.assign(static_cast<size_t>(kPanelOut * in), 0.0f);  // rows past `no` stay zero
    for (int64_t o = 0; o < no; ++o) decode_row(w, t.o_begin + o, rows.data() + o * in);
    decoded_call = t.call_id;
    decoded_o = t.o_begin;
  }
  acc.assign(static_cast<size_t>(t.num_rows * kPanelOut), 0.0f);
  panel.resize(static_cast<size_t>(kKc * kPanelOut));
  for (int64_t k0 = 0; k0 < in; k0 += kKc) {
    const int64_t kc = std::min(kKc, in - k0);
    for (int64_t o = 0; o < kPanelOut; ++o) {
      const float* src = rows.data() + o * in + k0;
      for (int64_t k = 0; k < kc; ++k) panel[k * kPanelOut + o] = src[k];
    }
    for (int64_t r0 = 0; r0 < t.num_rows; r0 += kMr) {
      const int64_t mr = std::min<int64_t>(kMr, t.num_rows - r0);
      kMicro[mr](panel.data(), kc, t.x + r0 * in + k0, in, acc.data() + r0 * kPanelOut);
    }
  }
  for (int64_t r = 0; r < t.num_rows; ++r)
    std::copy_n(acc.data() + r * kPanelOut, no, t.y + r * out + t.o_begin);
}

}  // namespace fathom::kernels::cpu

#pragma GCC diagnostic pop
#pragma GCC pop_options

#else  // not x86: never called (isa_available(kAvx512) is false)

namespace fathom::kernels::cpu {
void linear_panel_avx512(const LinearWeight&, const LinearTile&) {}
}  // namespace fathom::kernels::cpu

#endif
