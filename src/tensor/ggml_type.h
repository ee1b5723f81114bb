// GGML tensor types as GGUF files store them (the numbers are ggml.h's enum ggml_type), with the
// block geometry of each type fathom reads. Quantized types are rows of fixed-size blocks: a row
// of n elements is n / block_elements(t) blocks of block_bytes(t) bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fathom {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kIQ4_XS = 23,
  kBF16 = 30,
};

/// Every type above, in ggml's order.
inline constexpr GgmlType kGgmlTypes[] = {
    GgmlType::kF32,  GgmlType::kF16,  GgmlType::kQ4_0,   GgmlType::kQ4_1,   GgmlType::kQ5_0,
    GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kQ2_K,   GgmlType::kQ3_K,   GgmlType::kQ4_K,
    GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kIQ4_NL, GgmlType::kIQ4_XS, GgmlType::kBF16};

/// The type with ggml number `raw`, if fathom reads it.
std::optional<GgmlType> ggml_type_from_raw(uint32_t raw);
/// ggml's name of a type number ("Q4_K", "IQ2_XXS", ...), also for types fathom does not read;
/// "type N" for numbers ggml never used.
std::string ggml_type_name_raw(uint32_t raw);
const char* ggml_type_name(GgmlType t);
/// Elements per block (1 for F32, F16, BF16; 32 or 256 for the quantized types).
int64_t ggml_block_elements(GgmlType t);
/// Bytes per block.
int64_t ggml_block_bytes(GgmlType t);
/// Bytes of a row of n elements. PRECOND: n % ggml_block_elements(t) == 0.
inline int64_t ggml_row_bytes(GgmlType t, int64_t n) {
  return n / ggml_block_elements(t) * ggml_block_bytes(t);
}
/// True for the block-quantized types (everything but F32, F16 and BF16).
bool ggml_is_quantized(GgmlType t);

}  // namespace fathom
