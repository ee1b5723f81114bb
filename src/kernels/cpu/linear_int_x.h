// x of one linear call laid out for the x86 integer dot-product kernels (linear_int_dot.h):
// quantize_activations.h's codes, split into int8 limbs (kExact: three balanced base-256 digits
// h, m, l with code = 65536 h + 256 m + l, the ARM engineer's scheme of linear_cpu_neon_int8.cpp;
// kReduced: the code itself), one run of `span` bytes per (row, limb). GGML weights
// (linear_int_ggml.h) take kReduced codes in column order, never offset.
//
// Int4 weights store columns two to a byte (even column in the low nibble), so each 32-column
// chunk of x is stored in that order too: its 16 even columns, then its 16 odd ones. A chunk of
// weight codes is then the low nibbles of 16 bytes followed by their high nibbles, with no
// shuffle across columns. The AVX-512 VNNI decode kernel takes chunks of 128 columns instead
// (kWideQ4Chunk): 64 bytes of codes, one load, are then a chunk's even and odd columns.
#pragma once

#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/cpu/linear_cpu_internal.h"
#include "kernels/linear.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// IntX::q4_chunk of the AVX-512 VNNI one-row int4 kernel.
inline constexpr int64_t kWideQ4Chunk = 128;

struct IntX {
  int limbs = 1;           ///< 3 for kExact, 1 for kReduced
  int64_t q4_chunk = 32;   ///< int4 weights: columns per chunk (32 or kWideQ4Chunk)
  int64_t block = 0;       ///< columns per scale (activation_blocks)
  int64_t span = 0;        ///< quantized columns; [span, in) is added in fp32
  int64_t num_blocks = 0;  ///< ceil(span / block)
  bool finite = true;      ///< false: x holds a NaN or an infinity; nothing else is filled in
  /// [rows, limbs, span] int8 digits (limb 0 most significant), chunk order for int4 weights;
  /// with `offset` each byte is digit + 128 (an unsigned operand of vpdpbusd).
  std::vector<int8_t> codes;
  std::vector<float> scale;     ///< [rows, num_blocks]
  std::vector<float> code_sum;  ///< [rows, num_blocks]: scale * sum of the block's codes
  /// GGML weights: [rows, span / 16] sums of each 16 codes (the k-quants' mins and code offsets
  /// come off as sub-block factor x these, llama.cpp's Q8_K bsums); empty otherwise.
  std::vector<int16_t> sums16;

  const int8_t* limb(int64_t row, int k) const { return codes.data() + (row * limbs + k) * span; }
};

/// x[num_rows, in] (stored column order) as IntX for weight w and isa's integer kernel: int8
/// weights' x offset to unsigned except on kAvx2 (vpdpbusd takes them against x + 128; int4
/// codes are the unsigned side instead); int4 in kWideQ4Chunk chunks for one kReduced row on
/// kAvx512Vnni where the blocks and the span are whole chunks, else in chunks of 32. Rows other
/// than GGML's are quantized with SIMD (quantize_row_avx2; quantize_row_reduced_avx512 for
/// kReduced), with the same codes and scales as quantize_activation_block.
/// PRECOND: int_dot_applies(w), isa one of kAvx2, kAvxVnni, kAvx512Vnni.
IntX quantize_x(const LinearWeight& w, const float* x, int64_t num_rows, ActivationPrecision act,
                Isa isa, ThreadPool& pool);

/// One row of codes as quantize_x lays them out (chunk: int4's q4_chunk, 0 for column order;
/// bias: 0, or -128 for the offset), blocks of `block` columns over [0, span), with their scale
/// and code_sum: kReduced codes (_avx512: kReduced only), or kExact's three limbs, limb k at
/// codes + k * span. The same codes and scales as quantize_activation_block. Returns false,
/// with some blocks written, on a NaN or an infinity.
/// PRECOND: AVX-512 F (_avx512) or AVX2 (_avx2); span, block and chunk multiples of 32.
bool quantize_row_reduced_avx512(const float* x, int64_t span, int64_t block, int64_t chunk,
                                 int8_t bias, int8_t* codes, float* scale, float* code_sum);
bool quantize_row_avx2(const float* x, int64_t span, int64_t block, int64_t chunk, int8_t bias,
                       ActivationPrecision act, int8_t* codes, float* scale, float* code_sum);

}  // namespace fathom::kernels::cpu

namespace fathom::kernels::cpu {

/// The integer kernels of linear_int_dot.h, one per instruction set: y[r_begin, r_begin +
/// num_rows) x [o_begin, o_end) (absolute indices into x[rows, in] and y[rows, out]).
/// PRECOND: qx = quantize_x(w, x, ..., isa, ...) with the kernel's isa.
using IntDotFn = void (*)(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                          int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end);
void int_dot_avx512vnni(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                        int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end);
void int_dot_avxvnni(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                     int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end);
void int_dot_avx2(const LinearWeight& w, const IntX& qx, const float* x, float* y, int64_t r_begin,
                  int64_t num_rows, int64_t o_begin, int64_t o_end);

}  // namespace fathom::kernels::cpu
