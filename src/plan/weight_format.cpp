#include "plan/weight_format.h"

namespace fathom::plan {
namespace {

struct FormatName {
  const char* name;
  WeightKind kind;
};

constexpr FormatName kNames[] = {
    {"f32", WeightKind::kF32},      {"bf16", WeightKind::kBf16}, {"f16", WeightKind::kF16},
    {"fp8", WeightKind::kFp8Block}, {"int8", WeightKind::kInt8}, {"gptq4", WeightKind::kGptq4},
    {"awq4", WeightKind::kAwq4},    {"q8_0", WeightKind::kQ8_0}, {"q6_k", WeightKind::kQ6_K},
    {"q5_k", WeightKind::kQ5_K},    {"q4_k", WeightKind::kQ4_K}, {"q4_0", WeightKind::kQ4_0},
    {"q3_k", WeightKind::kQ3_K},    {"q2_k", WeightKind::kQ2_K},
};

// GGUF block: `bytes` for every `weights` consecutive weights of a row (ggml-common.h).
struct GgufBlock {
  int64_t weights, bytes;
};

GgufBlock gguf_block(WeightKind k) {
  switch (k) {
    case WeightKind::kQ8_0:
      return {32, 34};  // 32 x int8 + f16 scale
    case WeightKind::kQ4_0:
      return {32, 18};  // 32 x 4 bit + f16 scale
    case WeightKind::kQ6_K:
      return {256, 210};  // 6.5625 bits per weight
    case WeightKind::kQ5_K:
      return {256, 176};  // 5.5
    case WeightKind::kQ4_K:
      return {256, 144};  // 4.5
    case WeightKind::kQ3_K:
      return {256, 110};  // 3.4375
    case WeightKind::kQ2_K:
      return {256, 84};  // 2.625
    default:
      return {1, 2};
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

Result<WeightFormat> WeightFormat::parse(const std::string& name) {
  std::string base = name;
  WeightFormat f;
  if (const size_t dash = name.find("-g"); dash != std::string::npos) {
    base = name.substr(0, dash);
    const std::string g = name.substr(dash + 2);
    if (g.empty() || g.size() > 5 || g.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(g) < 1)
      return invalid_argument("weight format '" + name +
                              "': the group size after -g must be a positive integer");
    f.group_size = std::stoi(g);
  }
  for (const FormatName& n : kNames) {
    if (base == n.name) {
      f.kind = n.kind;
      if (base != name && f.kind != WeightKind::kGptq4 && f.kind != WeightKind::kAwq4)
        return invalid_argument("weight format '" + name +
                                "': only gptq4 and awq4 take a group size");
      return f;
    }
  }
  std::string all;
  for (const std::string& s : weight_format_names()) all += (all.empty() ? "" : ", ") + s;
  return invalid_argument("unknown weight format '" + name + "' (expected one of " + all + ")");
}

WeightFormat WeightFormat::from_quant_config(const model::QuantConfig& q) {
  WeightFormat f;
  switch (q.method) {
    case model::QuantMethod::kNone:
      break;
    case model::QuantMethod::kFp8Block:
      f.kind = WeightKind::kFp8Block;
      f.block_out = q.block_out;
      f.block_in = q.block_in;
      break;
    case model::QuantMethod::kGptq:
      f.kind = WeightKind::kGptq4;
      f.group_size = q.group_size;
      break;
    case model::QuantMethod::kAwq:
      f.kind = WeightKind::kAwq4;
      f.group_size = q.group_size;
      break;
    case model::QuantMethod::kCompressedTensors:
      f.kind = WeightKind::kInt8;
      break;
  }
  return f;
}

std::string WeightFormat::name() const {
  for (const FormatName& n : kNames) {
    if (n.kind != kind) continue;
    if ((kind == WeightKind::kGptq4 || kind == WeightKind::kAwq4) && group_size != 128)
      return std::string(n.name) + "-g" + std::to_string(group_size);
    return n.name;
  }
  return "?";
}

int64_t WeightFormat::matrix_bytes(int64_t rows_out, int64_t cols_in) const {
  const int64_t n = rows_out * cols_in;
  const int64_t groups = group_size <= 0 ? 1 : ceil_div(cols_in, group_size);
  switch (kind) {
    case WeightKind::kF32:
      return 4 * n;
    case WeightKind::kBf16:
    case WeightKind::kF16:
      return 2 * n;
    case WeightKind::kFp8Block:
      return n + 4 * ceil_div(rows_out, block_out) * ceil_div(cols_in, block_in);
    case WeightKind::kInt8:
      // weight_packed (int8 in int32 words) + bf16 scale per row + the int64[2] weight_shape.
      return 4 * rows_out * ceil_div(cols_in, 4) + 2 * rows_out + 16;
    case WeightKind::kGptq4:
      // qweight int32 [in/8, out], qzeros int32 [groups, out/8], scales f16 [groups, out],
      // g_idx int32 [in].
      return 4 * ceil_div(cols_in, 8) * rows_out + 4 * groups * ceil_div(rows_out, 8) +
             2 * groups * rows_out + 4 * cols_in;
    case WeightKind::kAwq4:
      // qweight int32 [in, out/8], qzeros int32 [groups, out/8], scales f16 [groups, out].
      return 4 * cols_in * ceil_div(rows_out, 8) + 4 * groups * ceil_div(rows_out, 8) +
             2 * groups * rows_out;
    default: {
      const GgufBlock b = gguf_block(kind);
      return rows_out * ceil_div(cols_in, b.weights) * b.bytes;
    }
  }
}

std::vector<std::string> weight_format_names() {
  std::vector<std::string> out;
  for (const FormatName& n : kNames) out.emplace_back(n.name);
  return out;
}

Result<KvDtype> parse_kv_dtype(const std::string& name) {
  if (name == "f32" || name == "float32") return KvDtype::kF32;
  if (name == "bf16" || name == "f16") return KvDtype::kBf16;
  if (name == "fp8") return KvDtype::kFp8;
  return invalid_argument("unknown KV cache dtype '" + name +
                          "' (expected f32 (float32), bf16, f16 or fp8)");
}

const char* kv_dtype_name(KvDtype d) {
  switch (d) {
    case KvDtype::kF32:
      return "f32";
    case KvDtype::kBf16:
      return "bf16";
    case KvDtype::kFp8:
      return "fp8";
  }
  return "?";
}

}  // namespace fathom::plan
