// bf16 weights packed losslessly into 12 bits per value, for the one-row (decode) kernels.
//
// Decoding one token reads every weight once, so it runs at the machine's read bandwidth; of a
// bf16 value's 16 bits, the 8 of sign and mantissa are noise, but the 8 exponent bits of a
// block of neighbouring weights span a few binades. Each block of 64 values of a row keeps its
// sign and mantissa bits (one byte per value) and a 4-bit code per exponent relative to the
// block's largest: code c > 0 is exponent bias + c, code 0 is exponent 0 (zeros and
// denormals). A block whose nonzero exponents span more than 15 binades is an escape, kept as
// plain bf16 beside the packed rows (0.3 % of the blocks of Gaussian weights). Same values,
// three quarters of the bytes; the kernels in cpu/linear_bf16_avx512.cpp (AVX-512 BF16) and
// cpu/linear_bf16_packed_avx2.cpp (AVX2) unpack in registers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/ready_slot.h"

namespace fathom::kernels {

/// Values per block; packable weights have in_features % kBf16PackBlock == 0.
inline constexpr int64_t kBf16PackBlock = 64;
/// Bytes per packed block: 64 of sign | mantissa, then 32 of exponent codes.
inline constexpr int64_t kBf16PackSlotBytes = 96;

/// The lane order the AVX-512 kernel consumes a block in (and escapes are stored in): position
/// p of the block's 64 values holds value bf16_pack_lane(p). It is AVX-512's byte unpack order, low
/// halves then high halves of each 16-byte lane: 0-7, 16-23, 32-39, 48-55, then 8-15, 24-31, ...
int bf16_pack_lane(int p);

struct Bf16Packed {
  int64_t out_features = 0, in_features = 0;
  int64_t blocks_per_row() const { return in_features / kBf16PackBlock; }

  /// [out, blocks_per_row] slots of kBf16PackSlotBytes: byte i (i < 64) is value i's sign (bit
  /// 7) and mantissa (bits 0-6); byte 64 + i holds value i's exponent code in its low nibble
  /// and value 32 + i's in its high nibble (i < 32). Escaped blocks' slots are zero.
  const uint8_t* slots = nullptr;
  /// [out, blocks_per_row]: the block's exponent bias (exponent = bias + code, mod 256).
  std::vector<uint8_t> bias;
  /// Row r's escaped blocks are escape_block[escape_begin[r] .. escape_begin[r + 1]), ascending;
  /// escape k's 64 bf16 values are escape_values[64 k ..] in bf16_pack_lane order.
  std::vector<uint32_t> escape_begin, escape_block;
  std::vector<uint16_t> escape_values;
  std::shared_ptr<void> storage;  ///< owns `slots` (huge_page_buffer)

  /// Bytes a one-row product reads: slots, biases and escapes.
  int64_t size_bytes() const;
};

/// True when w's shape can be packed: in_features a positive multiple of kBf16PackBlock.
bool bf16_packable(int64_t out_features, int64_t in_features);

/// Packs values: bf16 bits, row-major [out, in]. PRECOND: bf16_packable(out, in).
/// Throws std::bad_alloc when memory runs out.
std::unique_ptr<Bf16Packed> pack_bf16(const uint16_t* values, int64_t out, int64_t in);

/// Row r unpacked into out[in]: the original bf16 bits (the reference decoder).
void unpack_bf16_row(const Bf16Packed& p, int64_t r, uint16_t* out);

using Bf16PackedSlot = ReadySlot<Bf16Packed>;

}  // namespace fathom::kernels
