#include "kernels/quantize_weight.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/linear.h"
#include "tensor/dtype.h"

namespace fathom::kernels {
namespace {

template <typename T>
std::shared_ptr<std::vector<T>> buffer(int64_t n) {
  return std::make_shared<std::vector<T>>(static_cast<size_t>(n));
}

/// Rows of w dequantized exactly, `rows_per_task` at a time, handed to fn(row, values).
template <typename Fn>
void for_each_row(const LinearWeight& w, ThreadPool& pool, Fn fn) {
  pool.parallel_for(w.out_features, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(w.in_features));
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_row(w, r, row.data());
      fn(r, row.data());
    }
  });
}

LinearWeight to_int8(const LinearWeight& w, ThreadPool& pool) {
  const int64_t out = w.out_features, in = w.in_features;
  auto q = buffer<int8_t>(out * in);
  auto scale = buffer<float>(out);
  for_each_row(w, pool, [&](int64_t r, const float* x) {
    float amax = 0;
    for (int64_t i = 0; i < in; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float s = amax > 0 ? amax / 127.0f : 1.0f;
    (*scale)[r] = s;
    for (int64_t i = 0; i < in; ++i)
      (*q)[r * in + i] = static_cast<int8_t>(std::clamp(std::nearbyint(x[i] / s), -127.0f, 127.0f));
  });
  LinearWeight o;
  o.format = WeightFormat::kInt8Channel;
  o.out_features = out;
  o.in_features = in;
  o.q8 = q->data();
  o.channel_scale = scale->data();
  o.storage = {q, scale};
  return o;
}

LinearWeight to_int4(const LinearWeight& w, ThreadPool& pool) {
  const int64_t out = w.out_features, in = w.in_features, row_bytes = (in + 1) / 2;
  const int64_t gs = kInt4GroupSize, groups = (in + gs - 1) / gs;
  auto q = buffer<uint8_t>(out * row_bytes);
  auto scale = buffer<float>(out * groups);
  auto zero = buffer<uint8_t>(out * groups);
  for_each_row(w, pool, [&](int64_t r, const float* x) {
    uint8_t* qr = q->data() + r * row_bytes;
    std::fill(qr, qr + row_bytes, uint8_t{0});
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t i0 = g * gs, i1 = std::min(in, i0 + gs);
      // The range always holds 0, so that zero is exact (as GPTQ and AWQ do).
      float lo = 0, hi = 0;
      for (int64_t i = i0; i < i1; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
      }
      const float s = hi > lo ? (hi - lo) / 15.0f : 1.0f;
      const float z = std::clamp(std::nearbyint(-lo / s), 0.0f, 15.0f);
      (*scale)[r * groups + g] = s;
      (*zero)[r * groups + g] = static_cast<uint8_t>(z);
      for (int64_t i = i0; i < i1; ++i) {
        const auto v = static_cast<uint8_t>(std::clamp(std::nearbyint(x[i] / s) + z, 0.0f, 15.0f));
        qr[i / 2] |= static_cast<uint8_t>((i & 1) ? v << 4 : v);
      }
    }
  });
  LinearWeight o;
  o.format = WeightFormat::kInt4Grouped;
  o.out_features = out;
  o.in_features = in;
  o.q4 = q->data();
  o.group_scale = scale->data();
  o.group_zero = zero->data();
  o.group_size = static_cast<int32_t>(gs);
  o.num_groups = static_cast<int32_t>(groups);
  o.storage = {q, scale, zero};
  return o;
}

LinearWeight to_fp8(const LinearWeight& w, ThreadPool& pool) {
  const int64_t out = w.out_features, in = w.in_features, b = kFp8Block;
  const int64_t nbo = (out + b - 1) / b, nbi = (in + b - 1) / b;
  auto q = buffer<uint8_t>(out * in);
  auto scale = buffer<float>(nbo * nbi);
  // One task per row of blocks: its amax per block first, then the codes.
  pool.parallel_for(nbo, [&](int64_t b0, int64_t b1) {
    std::vector<float> rows(static_cast<size_t>(b * in));
    for (int64_t bo = b0; bo < b1; ++bo) {
      const int64_t r0 = bo * b, r1 = std::min(out, r0 + b);
      for (int64_t r = r0; r < r1; ++r) dequantize_row(w, r, rows.data() + (r - r0) * in);
      for (int64_t bi = 0; bi < nbi; ++bi) {
        const int64_t i0 = bi * b, i1 = std::min(in, i0 + b);
        float amax = 0;
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t i = i0; i < i1; ++i)
            amax = std::max(amax, std::fabs(rows[(r - r0) * in + i]));
        const float s = amax > 0 ? amax / 448.0f : 1.0f;
        (*scale)[bo * nbi + bi] = s;
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t i = i0; i < i1; ++i)
            (*q)[r * in + i] = f32_to_e4m3(rows[(r - r0) * in + i] / s);
      }
    }
  });
  LinearWeight o;
  o.format = WeightFormat::kFp8Block;
  o.out_features = out;
  o.in_features = in;
  o.values = q->data();
  o.block_scale_inv = scale->data();
  o.block_out = static_cast<int32_t>(b);
  o.block_in = static_cast<int32_t>(b);
  o.storage = {q, scale};
  return o;
}

}  // namespace

const char* quant_target_name(QuantTarget t) {
  switch (t) {
    case QuantTarget::kInt8Channel:
      return "int8";
    case QuantTarget::kInt4Grouped:
      return "int4";
    case QuantTarget::kFp8Block:
      return "fp8";
  }
  return "unknown";
}

uint8_t f32_to_e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  // Codes 0x00..0x7e are the non-negative finite values in increasing order.
  static const std::array<float, 127> kMagnitudes = [] {
    std::array<float, 127> m{};
    for (int c = 0; c < 127; ++c) m[static_cast<size_t>(c)] = e4m3_to_f32(static_cast<uint8_t>(c));
    return m;
  }();
  const uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  const float a = std::fabs(f);
  const auto it = std::lower_bound(kMagnitudes.begin(), kMagnitudes.end(), a);
  if (it == kMagnitudes.end()) return sign | 0x7e;  // saturate at 448
  auto code = static_cast<uint8_t>(it - kMagnitudes.begin());
  if (code > 0 && *it != a) {  // between code - 1 and code: the nearer, ties to the even code
    const float below = kMagnitudes[code - 1u];
    if (a - below < *it - a || (a - below == *it - a && (code & 1))) --code;
  }
  return sign | code;
}

LinearWeight quantize_weight(const LinearWeight& w, QuantTarget target, ThreadPool& pool) {
  switch (target) {
    case QuantTarget::kInt8Channel:
      return to_int8(w, pool);
    case QuantTarget::kInt4Grouped:
      return to_int4(w, pool);
    case QuantTarget::kFp8Block:
      return to_fp8(w, pool);
  }
  return {};
}

}  // namespace fathom::kernels
