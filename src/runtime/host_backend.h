// The part of a backend whose memory is the host's: allocation, copies, the element-wise and
// layout ops and the KV write, shared by the CPU backend and the reference backend (both run
// these through the kernels/ref element-wise kernels; only linear and attention differ).
// Internal to runtime/.
#pragma once

#include "runtime/backend.h"
#include "runtime/host_buffer_pool.h"

namespace fathom::runtime {

class HostBackend : public Backend {
 public:
  Buffer alloc(std::vector<int64_t> shape, DType dtype) override;
  void copy_from_host(const Buffer& dst, const void* src, int64_t bytes) override;
  void copy_to_host(void* dst, const Buffer& src, int64_t bytes) override;
  void copy(float* dst, const float* src, int64_t count) override;
  void fill(float* x, float value, int64_t count) override;

  void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps,
                float* y) override;
  void add(float* x, const float* y, int64_t count) override;
  void add_bias(float* x, const float* bias, int64_t rows, int64_t dim) override;
  void silu_mul(const float* gate, const float* up, int64_t count, float* out) override;
  void rope(const kernels::RopeTable& rope, const int32_t* positions, int64_t n, int64_t heads,
            int64_t stride, int64_t offset, float* x) override;
  void embed(const kernels::LinearWeight& table, const int32_t* token_ids, int64_t n,
             float* out) override;

  void to_head_major(const float* src, int64_t n, int64_t heads, int64_t stride, int64_t offset,
                     int64_t width, float* dst) override;
  void from_head_major(const float* src, int64_t n, int64_t heads, int64_t width,
                       float* dst) override;
  void gather_rows(const float* src, int64_t width, std::span<const int64_t> rows, float* dst,
                   int64_t dst_stride, int64_t dst_offset) override;
  void scatter_add_rows(const float* src, int64_t width, std::span<const int64_t> rows,
                        std::span<const float> weight, float* dst) override;
  void write_kv(const kernels::PagedCache& cache, const kernels::TokenLayout& tokens,
                std::span<const KvPart> parts) override;

 private:
  HostBufferPool pool_;  ///< alloc's memory, reused across layers and steps
};

}  // namespace fathom::runtime
