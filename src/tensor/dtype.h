// Element types found in checkpoints, and exact scalar conversions to float.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace fathom {

enum class DType : uint8_t { kF64, kF32, kF16, kBF16, kF8E4M3, kF8E5M2, kI64, kI32, kI16, kI8,
                             kU64, kU32, kU16, kU8, kBool };

/// Bytes per element.
int dtype_size(DType t);
/// The safetensors spelling ("F32", "BF16", "F8_E4M3", ...).
const char* dtype_name(DType t);
std::optional<DType> parse_safetensors_dtype(std::string_view name);

inline float bf16_to_f32(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

/// Round-to-nearest-even; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float f16_to_f32(uint16_t bits);
/// IEEE half bits of f, round-to-nearest-even; overflow goes to infinity, NaN stays NaN.
uint16_t f32_to_f16(float f);

/// float8_e4m3fn (no infinities; S.1111.111 is NaN), exact via a 256-entry table.
float e4m3_to_f32(uint8_t bits);
/// float8_e5m2 (IEEE-like, 5 exponent bits).
float e5m2_to_f32(uint8_t bits);
/// The whole e4m3fn decode table, for kernels that want it in a register-friendly array.
const float* e4m3_table();

}  // namespace fathom
