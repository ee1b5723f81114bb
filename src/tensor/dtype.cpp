#include "tensor/dtype.h"

#include <array>
#include <cmath>
#include <limits>

namespace fathom {
namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  int size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF64, "F64", 8},       {DType::kF32, "F32", 4},     {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},     {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
    {DType::kI64, "I64", 8},       {DType::kI32, "I32", 4},     {DType::kI16, "I16", 2},
    {DType::kI8, "I8", 1},         {DType::kU64, "U64", 8},     {DType::kU32, "U32", 4},
    {DType::kU16, "U16", 2},       {DType::kU8, "U8", 1},       {DType::kBool, "BOOL", 1},
};

const DTypeInfo& info(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  return kDTypes[0];  // unreachable: every enumerator is in the table
}

std::array<float, 256> make_e4m3_table() {
  std::array<float, 256> t{};
  for (int b = 0; b < 256; ++b) {
    const int sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 0x7;
    float v;
    if (exp == 0xf && man == 0x7) {
      v = std::numeric_limits<float>::quiet_NaN();
    } else if (exp == 0) {
      v = std::ldexp(static_cast<float>(man) / 8.0f, -6);  // subnormal
    } else {
      v = std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
    }
    t[b] = sign ? -v : v;
  }
  return t;
}

}  // namespace

int dtype_size(DType t) { return info(t).size; }
const char* dtype_name(DType t) { return info(t).name; }

std::optional<DType> parse_safetensors_dtype(std::string_view name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return d.type;
  return std::nullopt;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp != 0 && exp != 0x1f) {  // normal: rebias the exponent, widen the mantissa (exact)
    const uint32_t bits = sign | ((exp + 112u) << 23) | (man << 13);
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
  float v;
  if (exp == 0) {
    v = static_cast<float>(man) * 0x1p-24f;  // subnormal (or zero): exact, a power-of-two scale
  } else {
    v = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  }
  return sign ? -v : v;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // 65520 and up round to infinity
  if (x < 0x38800000u) {                         // below 2^-14: a half subnormal (or zero)
    float v;
    std::memcpy(&v, &x, sizeof(v));
    return sign | static_cast<uint16_t>(std::nearbyint(v * 16777216.0f));  // exact product
  }
  const uint32_t rounded = x + 0xfffu + ((x >> 13) & 1u);  // to nearest even at bit 13
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

const float* e4m3_table() {
  static const std::array<float, 256> kTable = make_e4m3_table();
  return kTable.data();
}

float e4m3_to_f32(uint8_t bits) { return e4m3_table()[bits]; }

float e5m2_to_f32(uint8_t bits) {
  // e5m2 is the top byte of an IEEE half.
  return f16_to_f32(static_cast<uint16_t>(bits) << 8);
}

}  // namespace fathom
