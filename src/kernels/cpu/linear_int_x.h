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
#include "kernels/linear.h"
#include "kernels/linear_weight.h"

namespace fathom::kernels::cpu {

/// IntX::q4_chunk of the AVX-512 VNNI one-row int4 kernel (wide_q4_chunk_applies).
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

/// x[num_rows, in] (stored column order) as IntX for weight w, int4 chunks of q4_chunk columns.
/// PRECOND: int_dot_applies(w); q4_chunk 32, or kWideQ4Chunk where wide_q4_chunk_applies(w).
IntX quantize_x(const LinearWeight& w, const float* x, int64_t num_rows, ActivationPrecision act,
                bool offset, int64_t q4_chunk, ThreadPool& pool);

/// Whether int4 weight w's x may take kWideQ4Chunk chunks: its blocks and its quantized span
/// are whole chunks.
bool wide_q4_chunk_applies(const LinearWeight& w);

}  // namespace fathom::kernels::cpu

namespace fathom::kernels::cpu {

/// The integer kernels of linear_int_dot.h, one per instruction set: y[r_begin, r_begin +
/// num_rows) x [o_begin, o_end) (absolute indices into x[rows, in] and y[rows, out]).
/// PRECOND: qx = quantize_x(w, x, ...) with `offset` = int_dot_wants_offset(isa, w).
using IntDotFn = void (*)(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                          int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end);
void int_dot_avx512vnni(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                        int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end);
void int_dot_avxvnni(const LinearWeight& w, const IntX& qx, const float* x, float* y,
                     int64_t r_begin, int64_t num_rows, int64_t o_begin, int64_t o_end);
void int_dot_avx2(const LinearWeight& w, const IntX& qx, const float* x, float* y, int64_t r_begin,
                  int64_t num_rows, int64_t o_begin, int64_t o_end);

}  // namespace fathom::kernels::cpu
