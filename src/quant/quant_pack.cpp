#include "quant/quant_pack.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/dtype.h"

namespace fathom::quant {

namespace {

constexpr int kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

template <typename T>
formats::OwnedTensor owned(std::string name, DType dtype, std::vector<int64_t> shape,
                           const std::vector<T>& values) {
  formats::OwnedTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

formats::OwnedTensor scales_f16(const std::string& prefix, const GroupQuantized& q) {
  return owned(prefix + ".scales", DType::kF16, {q.num_groups, q.out_features}, q.scales);
}

/// [rows, cols] values -> [rows, cols/8] words, slot k of word c holding column 8c + order[k].
std::vector<uint32_t> pack_nibble_cols(const std::vector<int32_t>& v, int64_t rows, int64_t cols,
                                       const int* order) {
  std::vector<uint32_t> out(static_cast<size_t>(rows * (cols / 8)), 0u);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols / 8; ++c) {
      uint32_t word = 0;
      for (int k = 0; k < 8; ++k)
        word |= (static_cast<uint32_t>(v[r * cols + 8 * c + order[k]]) & 0xFu) << (4 * k);
      out[r * (cols / 8) + c] = word;
    }
  return out;
}

/// q [out, in] codes transposed to [in, out] values.
std::vector<int32_t> codes_in_by_out(const GroupQuantized& q) {
  std::vector<int32_t> t(q.q.size());
  for (int64_t o = 0; o < q.out_features; ++o)
    for (int64_t i = 0; i < q.in_features; ++i)
      t[i * q.out_features + o] = q.q[o * q.in_features + i];
  return t;
}

}  // namespace

std::vector<formats::OwnedTensor> pack_gptq(const std::string& prefix, const GroupQuantized& q,
                                            bool v1_format) {
  const int64_t out = q.out_features, in = q.in_features;
  std::vector<uint32_t> qweight(static_cast<size_t>((in / 8) * out), 0u);
  for (int64_t r = 0; r < in / 8; ++r)
    for (int64_t o = 0; o < out; ++o) {
      uint32_t word = 0;
      for (int j = 0; j < 8; ++j)
        word |= (static_cast<uint32_t>(q.q[o * in + 8 * r + j]) & 0xFu) << (4 * j);
      qweight[r * out + o] = word;
    }
  static constexpr int kIdentity[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<uint32_t> qzeros = pack_nibble_cols(q.zeros, q.num_groups, out, kIdentity);
  if (v1_format)
    for (uint32_t& word : qzeros) word -= 0x11111111u;  // GPTQModel v2 -> v1: wraps like it
  return {owned(prefix + ".qweight", DType::kI32, {in / 8, out}, qweight),
          owned(prefix + ".qzeros", DType::kI32, {q.num_groups, out / 8}, qzeros),
          scales_f16(prefix, q), owned(prefix + ".g_idx", DType::kI32, {in}, q.g_idx)};
}

std::vector<formats::OwnedTensor> pack_awq(const std::string& prefix, const GroupQuantized& q) {
  const int64_t out = q.out_features, in = q.in_features;
  return {owned(prefix + ".qweight", DType::kI32, {in, out / 8},
                pack_nibble_cols(codes_in_by_out(q), in, out, kAwqOrder)),
          owned(prefix + ".qzeros", DType::kI32, {q.num_groups, out / 8},
                pack_nibble_cols(q.zeros, q.num_groups, out, kAwqOrder)),
          scales_f16(prefix, q)};
}

Int8Channel int8_channel_quantize(const float* w, int64_t out_features, int64_t in_features) {
  Int8Channel r;
  r.out_features = out_features;
  r.in_features = in_features;
  r.q.resize(static_cast<size_t>(out_features * in_features));
  r.scale.resize(static_cast<size_t>(out_features));
  for (int64_t o = 0; o < out_features; ++o) {
    const float* row = w + o * in_features;
    float amax = 0.0f;
    for (int64_t i = 0; i < in_features; ++i) amax = std::max(amax, std::fabs(row[i]));
    const float s = std::max(amax / 127.5f, std::numeric_limits<float>::epsilon());
    r.scale[o] = f32_to_bf16(s);
    const float stored = bf16_to_f32(r.scale[o]);
    for (int64_t i = 0; i < in_features; ++i)
      r.q[o * in_features + i] = static_cast<int8_t>(
          std::clamp(static_cast<int32_t>(std::nearbyint(row[i] / stored)), -128, 127));
  }
  return r;
}

std::vector<formats::OwnedTensor> pack_int8(const std::string& prefix, const Int8Channel& q) {
  const int64_t out = q.out_features, in = q.in_features, words = (in + 3) / 4;
  std::vector<uint32_t> packed(static_cast<size_t>(out * words), 0u);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const uint32_t byte = static_cast<uint32_t>(static_cast<int32_t>(q.q[o * in + i]) + 128);
      packed[o * words + i / 4] |= byte << (8 * (i % 4));
    }
  return {owned(prefix + ".weight_packed", DType::kI32, {out, words}, packed),
          owned(prefix + ".weight_scale", DType::kBF16, {out, 1}, q.scale),
          owned(prefix + ".weight_shape", DType::kI64, {2}, std::vector<int64_t>{out, in})};
}

}  // namespace fathom::quant
