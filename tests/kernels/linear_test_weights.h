// Random LinearWeights of every format for kernel tests: each owns its buffers (storage).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/ggml_blocks.h"
#include "kernels/linear.h"
#include "kernels/linear_weight.h"
#include "tensor/dtype.h"

namespace fathom::kernels::testing {

struct WeightSpec {
  WeightFormat format = WeightFormat::kF32;
  int64_t out = 0;
  int64_t in = 0;
  int32_t block_out = 16;  ///< kFp8Block
  int32_t block_in = 16;
  int32_t group_size = 32;  ///< kInt4Grouped; -1 = whole row
  enum class Groups { kContiguous, kScattered, kPermuted } groups = Groups::kContiguous;
  uint32_t seed = 1;
  GgmlType ggml_type = GgmlType::kQ4_K;  ///< kGgml (in must divide into its blocks)
};

template <typename T>
T* own(LinearWeight& w, size_t n) {
  auto buf = std::make_shared<std::vector<T>>(n);
  T* p = buf->data();
  w.storage.push_back(std::move(buf));
  return p;
}

inline LinearWeight make_weight(const WeightSpec& s) {
  std::mt19937 rng(s.seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  LinearWeight w;
  w.format = s.format;
  w.out_features = s.out;
  w.in_features = s.in;
  const size_t n = static_cast<size_t>(s.out * s.in);
  switch (s.format) {
    case WeightFormat::kF32: {
      float* v = own<float>(w, n);
      for (size_t k = 0; k < n; ++k) v[k] = uni(rng);
      w.values = v;
      break;
    }
    case WeightFormat::kBF16: {
      uint16_t* v = own<uint16_t>(w, n);
      for (size_t k = 0; k < n; ++k) v[k] = f32_to_bf16(uni(rng));
      w.values = v;
      break;
    }
    case WeightFormat::kF16: {
      uint16_t* v = own<uint16_t>(w, n);
      // Random bit patterns with exponent field <= 16 (|v| < 4): normals and subnormals.
      std::uniform_int_distribution<int> bits(0, 0xffff);
      for (size_t i = 0; i < n; ++i) {
        uint16_t h = static_cast<uint16_t>(bits(rng));
        if (((h >> 10) & 0x1f) > 16) h = static_cast<uint16_t>(h & ~(0x10u << 10));
        v[i] = h;
      }
      w.values = v;
      break;
    }
    case WeightFormat::kFp8Block: {
      uint8_t* v = own<uint8_t>(w, n);
      std::uniform_int_distribution<int> byte(0, 255);
      for (size_t k = 0; k < n; ++k) {
        int b = byte(rng);
        if ((b & 0x7f) == 0x7f) b &= 0xfe;  // no NaN codes in parity data
        v[k] = static_cast<uint8_t>(b);
      }
      w.values = v;
      w.block_out = s.block_out;
      w.block_in = s.block_in;
      const int64_t nbo = (s.out + s.block_out - 1) / s.block_out;
      const int64_t nbi = (s.in + s.block_in - 1) / s.block_in;
      float* sc = own<float>(w, static_cast<size_t>(nbo * nbi));
      for (int64_t k = 0; k < nbo * nbi; ++k) sc[k] = std::ldexp(0.5f + std::fabs(uni(rng)), -8);
      w.block_scale_inv = sc;
      break;
    }
    case WeightFormat::kInt4Grouped: {
      const int64_t gs = s.group_size == -1 ? s.in : s.group_size;
      const int64_t G = (s.in + gs - 1) / gs;
      const int64_t row_bytes = (s.in + 1) / 2;
      uint8_t* q = own<uint8_t>(w, static_cast<size_t>(s.out * row_bytes));
      std::uniform_int_distribution<int> byte(0, 255), nib(0, 15);
      for (int64_t k = 0; k < s.out * row_bytes; ++k) q[k] = static_cast<uint8_t>(byte(rng));
      float* sc = own<float>(w, static_cast<size_t>(s.out * G));
      uint8_t* z = own<uint8_t>(w, static_cast<size_t>(s.out * G));
      for (int64_t k = 0; k < s.out * G; ++k) {
        sc[k] = 0.01f + 0.05f * std::fabs(uni(rng));
        z[k] = static_cast<uint8_t>(nib(rng) + (k % 7 == 0 ? 1 : 0));  // 16 appears (GPTQ v1)
      }
      w.q4 = q;
      w.group_scale = sc;
      w.group_zero = z;
      w.group_size = static_cast<int32_t>(gs);
      w.num_groups = static_cast<int32_t>(G);
      if (s.groups != WeightSpec::Groups::kContiguous) {
        std::vector<int32_t> perm(static_cast<size_t>(s.in));
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        int32_t* p = own<int32_t>(w, perm.size());
        std::copy(perm.begin(), perm.end(), p);
        if (s.groups == WeightSpec::Groups::kPermuted) {
          w.input_perm = p;
        } else {  // every column in a random group
          std::uniform_int_distribution<int32_t> grp(0, static_cast<int32_t>(G - 1));
          for (int64_t i = 0; i < s.in; ++i) p[i] = grp(rng);
          w.group_idx = p;
        }
      }
      break;
    }
    case WeightFormat::kInt8Channel: {
      int8_t* q = own<int8_t>(w, n);
      std::uniform_int_distribution<int> v(-128, 127);
      for (size_t k = 0; k < n; ++k) q[k] = static_cast<int8_t>(v(rng));
      float* sc = own<float>(w, static_cast<size_t>(s.out));
      for (int64_t o = 0; o < s.out; ++o) sc[o] = 0.001f + 0.01f * std::fabs(uni(rng));
      w.q8 = q;
      w.channel_scale = sc;
      break;
    }
    case WeightFormat::kGgml: {  // random floats in the type's blocks
      w.ggml_type = s.ggml_type;
      const int64_t row_bytes = ggml_row_bytes(s.ggml_type, s.in);
      uint8_t* blocks = own<uint8_t>(w, static_cast<size_t>(s.out * row_bytes));
      std::vector<float> row(static_cast<size_t>(s.in));
      for (int64_t o = 0; o < s.out; ++o) {
        for (float& v : row) v = uni(rng);
        ggml_quantize(s.ggml_type, row.data(), s.in, blocks + o * row_bytes);
      }
      w.values = blocks;
      break;
    }
  }
  return w;
}

inline std::vector<float> random_input(int64_t num_rows, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(num_rows * in));
  for (float& v : x) v = nd(rng);
  return x;
}

// Sum over j of |x[r, j] * W[o, j]|: the scale of fp32 rounding error in y[r, o].
inline std::vector<double> magnitude(const LinearWeight& w, const std::vector<float>& x,
                                     int64_t rows) {
  const int64_t in = w.in_features, out = w.out_features;
  std::vector<double> m(static_cast<size_t>(rows * out));
  std::vector<float> row(static_cast<size_t>(in));
  for (int64_t o = 0; o < out; ++o) {
    dequantize_row(w, o, row.data());
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t j = 0; j < in; ++j) s += std::fabs(double{x[r * in + j]} * row[j]);
      m[r * out + o] = s;
    }
  }
  return m;
}

}  // namespace fathom::kernels::testing
