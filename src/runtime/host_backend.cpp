#include "runtime/host_backend.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace fathom::runtime {

Buffer HostBackend::alloc(std::vector<int64_t> shape, DType dtype) {
  int64_t numel = 1;
  for (int64_t s : shape) {
    FATHOM_CHECK(s >= 0);
    numel *= s;
  }
  std::shared_ptr<void> owner = pool_.take(static_cast<size_t>(numel * dtype_size(dtype)));
  void* p = owner.get();
  return make_buffer(std::move(shape), dtype, p, std::move(owner));
}

void HostBackend::copy_from_host(const Buffer& dst, const void* src, int64_t bytes) {
  FATHOM_CHECK(bytes <= dst.size_bytes());
  if (bytes > 0) std::memcpy(dst.handle(), src, static_cast<size_t>(bytes));  // else may be null
}

void HostBackend::copy_to_host(void* dst, const Buffer& src, int64_t bytes) {
  FATHOM_CHECK(bytes <= src.size_bytes());
  if (bytes > 0) std::memcpy(dst, src.handle(), static_cast<size_t>(bytes));  // else may be null
}

void HostBackend::copy(float* dst, const float* src, int64_t count) {
  std::copy_n(src, count, dst);
}

void HostBackend::fill(float* x, float value, int64_t count) { std::fill_n(x, count, value); }

void HostBackend::rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps,
                           float* y) {
  kernels::rms_norm(x, w, rows, dim, eps, y);
}

void HostBackend::add(float* x, const float* y, int64_t count) {
  kernels::add_inplace(x, y, count);
}

void HostBackend::add_bias(float* x, const float* bias, int64_t rows, int64_t dim) {
  kernels::add_bias(x, bias, rows, dim);
}

void HostBackend::silu_mul(const float* gate, const float* up, int64_t count, float* out) {
  kernels::silu_mul(gate, up, count, out);
}

void HostBackend::rope(const kernels::RopeTable& rope, const int32_t* positions, int64_t n,
                       int64_t heads, int64_t stride, int64_t offset, float* x) {
  kernels::apply_rope(rope, positions, n, heads, stride, offset, x);
}

void HostBackend::embed(const kernels::LinearWeight& table, const int32_t* token_ids, int64_t n,
                        float* out) {
  const int64_t d = table.in_features;
  for (int64_t t = 0; t < n; ++t) kernels::dequantize_row(table, token_ids[t], out + t * d);
}

void HostBackend::to_head_major(const float* src, int64_t n, int64_t heads, int64_t stride,
                                int64_t offset, int64_t width, float* dst) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < heads; ++h)
      std::copy_n(src + (t * heads + h) * stride + offset, width, dst + (h * n + t) * width);
}

void HostBackend::from_head_major(const float* src, int64_t n, int64_t heads, int64_t width,
                                  float* dst) {
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t t = 0; t < n; ++t)
      std::copy_n(src + (h * n + t) * width, width, dst + (t * heads + h) * width);
}

void HostBackend::gather_rows(const float* src, int64_t width, std::span<const int64_t> rows,
                              float* dst, int64_t dst_stride, int64_t dst_offset) {
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy_n(src + rows[i] * width, width,
                dst + static_cast<int64_t>(i) * dst_stride + dst_offset);
}

void HostBackend::scatter_add_rows(const float* src, int64_t width, std::span<const int64_t> rows,
                                   std::span<const float> weight, float* dst) {
  FATHOM_CHECK(rows.size() == weight.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    float* d = dst + rows[i] * width;
    const float* s = src + static_cast<int64_t>(i) * width;
    const float wt = weight[i];
    for (int64_t j = 0; j < width; ++j) d[j] += wt * s[j];
  }
}

void HostBackend::write_kv(const kernels::PagedCache& cache, const kernels::TokenLayout& tokens,
                           std::span<const KvPart> parts) {
  int64_t offset = 0;  // each part converted to the cache's element type at its offset
  for (const KvPart& p : parts) {
    kernels::write_kv(cache, tokens, p.data, p.row_stride, offset, p.width);
    offset += p.width;
  }
  FATHOM_CHECK(offset == cache.entry_dim);
}

}  // namespace fathom::runtime
