#include "tensor/ggml_type.h"

namespace fathom {
namespace {

struct TypeRow {
  GgmlType type;
  const char* name;
  int64_t block_elements;
  int64_t block_bytes;
};

// Block layouts (ggml-common.h): sizes are those of the block structs.
constexpr TypeRow kRows[] = {
    {GgmlType::kF32, "F32", 1, 4},
    {GgmlType::kF16, "F16", 1, 2},
    {GgmlType::kQ4_0, "Q4_0", 32, 2 + 16},                  // d, 32 nibbles
    {GgmlType::kQ4_1, "Q4_1", 32, 2 + 2 + 16},              // d, m, 32 nibbles
    {GgmlType::kQ5_0, "Q5_0", 32, 2 + 4 + 16},              // d, 32 high bits, 32 nibbles
    {GgmlType::kQ5_1, "Q5_1", 32, 2 + 2 + 4 + 16},          // d, m, high bits, nibbles
    {GgmlType::kQ8_0, "Q8_0", 32, 2 + 32},                  // d, 32 int8
    {GgmlType::kQ2_K, "Q2_K", 256, 16 + 64 + 2 + 2},        // scales, 2-bit codes, d, dmin
    {GgmlType::kQ3_K, "Q3_K", 256, 32 + 64 + 12 + 2},       // hmask, 2-bit codes, scales, d
    {GgmlType::kQ4_K, "Q4_K", 256, 2 + 2 + 12 + 128},       // d, dmin, 6-bit scales, nibbles
    {GgmlType::kQ5_K, "Q5_K", 256, 2 + 2 + 12 + 32 + 128},  // + high bits
    {GgmlType::kQ6_K, "Q6_K", 256, 128 + 64 + 16 + 2},      // ql, qh, int8 scales, d
    {GgmlType::kIQ4_NL, "IQ4_NL", 32, 2 + 16},              // d, 32 table indices
    {GgmlType::kIQ4_XS, "IQ4_XS", 256, 2 + 2 + 4 + 128},    // d, scales_h, scales_l, indices
    {GgmlType::kBF16, "BF16", 1, 2},
};

const TypeRow& row(GgmlType t) {
  for (const TypeRow& r : kRows)
    if (r.type == t) return r;
  return kRows[0];  // unreachable: every enumerator has a row
}

// ggml.h's names for the numbers fathom does not read (so errors can name them).
constexpr const char* kOtherNames[] = {
    nullptr, nullptr,      nullptr,      nullptr,      "Q4_2",     "Q4_3",     nullptr,
    nullptr, nullptr,      "Q8_1",       nullptr,      nullptr,    nullptr,    nullptr,
    nullptr, "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    nullptr,
    "IQ3_S", "IQ2_S",      nullptr,      "I8",         "I16",      "I32",      "I64",
    "F64",   "IQ1_M",      nullptr,      "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
    "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};

}  // namespace

std::optional<GgmlType> ggml_type_from_raw(uint32_t raw) {
  for (const TypeRow& r : kRows)
    if (static_cast<uint32_t>(r.type) == raw) return r.type;
  return std::nullopt;
}

std::string ggml_type_name_raw(uint32_t raw) {
  if (auto t = ggml_type_from_raw(raw)) return ggml_type_name(*t);
  if (raw < std::size(kOtherNames) && kOtherNames[raw]) return kOtherNames[raw];
  return "type " + std::to_string(raw);
}

const char* ggml_type_name(GgmlType t) { return row(t).name; }
int64_t ggml_block_elements(GgmlType t) { return row(t).block_elements; }
int64_t ggml_block_bytes(GgmlType t) { return row(t).block_bytes; }
bool ggml_is_quantized(GgmlType t) {
  return t != GgmlType::kF32 && t != GgmlType::kF16 && t != GgmlType::kBF16;
}

}  // namespace fathom
