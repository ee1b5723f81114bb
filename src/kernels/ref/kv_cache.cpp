// Writing and reading paged-cache entries in every KvDtype. There is one write path (the
// reference): it converts one step's entries, O(tokens x entry) against attention's
// O(tokens x context x entry), so no ISA-specific copy is worth having.
#include <algorithm>

#include "kernels/ops.h"
#include "kernels/quantize_weight.h"
#include "tensor/dtype.h"

namespace fathom::kernels {

void write_kv(const PagedCache& cache, const TokenLayout& tokens, const float* src,
              int64_t src_stride, int64_t offset, int64_t width) {
  const float inv_scale = 1.0f / cache.scale;
  for (int64_t t = 0; t < tokens.num_tokens; ++t) {
    const auto& table = (*tokens.block_tables)[tokens.seq_idx[t]];
    const int32_t pos = tokens.positions[t];
    const float* x = src + t * src_stride;
    switch (cache.dtype) {
      case KvDtype::kF32:
        std::copy_n(x, width, cache.entry_as<float>(table, pos) + offset);
        break;
      case KvDtype::kBf16: {
        uint16_t* e = cache.entry_as<uint16_t>(table, pos) + offset;
        for (int64_t i = 0; i < width; ++i) e[i] = f32_to_bf16(x[i]);
        break;
      }
      case KvDtype::kFp8: {
        uint8_t* e = cache.entry_as<uint8_t>(table, pos) + offset;
        for (int64_t i = 0; i < width; ++i) e[i] = f32_to_e4m3(x[i] * inv_scale);
        break;
      }
    }
  }
}

void read_kv(const PagedCache& cache, std::span<const int32_t> table, int32_t pos, float* out) {
  const int64_t n = cache.entry_dim;
  switch (cache.dtype) {
    case KvDtype::kF32:
      std::copy_n(cache.entry_as<float>(table, pos), n, out);
      break;
    case KvDtype::kBf16: {
      const uint16_t* e = cache.entry_as<uint16_t>(table, pos);
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(e[i]);
      break;
    }
    case KvDtype::kFp8: {
      const uint8_t* e = cache.entry_as<uint8_t>(table, pos);
      for (int64_t i = 0; i < n; ++i) out[i] = e4m3_to_f32(e[i]) * cache.scale;
      break;
    }
  }
}

}  // namespace fathom::kernels
