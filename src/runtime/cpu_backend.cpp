// The fast CPU backend: kernels/cpu (linear_cpu, the SIMD attention kernels) on the process
// thread pool, SwiGLU's silu_mul and rms_norm (kernels/cpu/elementwise_cpu.h), rope with its
// angles kept across a forward pass's layers (kernels/cpu/rope_cpu.h); the other element-wise
// ops come from HostBackend.
#include "base/thread_pool.h"
#include "kernels/cpu/attention_cpu.h"
#include "kernels/cpu/elementwise_cpu.h"
#include "kernels/cpu/rope_cpu.h"
#include "runtime/host_backend.h"

namespace fathom::runtime {
namespace {

class CpuBackend final : public HostBackend {
 public:
  explicit CpuBackend(kernels::ActivationPrecision act) : act_(act) {}
  const char* name() const override { return "cpu"; }

  void linear(const kernels::LinearWeight& w, const float* x, int64_t n, float* y) override {
    kernels::linear_cpu(w, x, n, y, default_thread_pool(), act_);
  }

  void linear_group(const std::vector<kernels::LinearWeight>& ws, const float* x, int64_t n,
                    float* y) override {
    if (ws.empty()) return;
    const int64_t in = ws[0].in_features, out = ws[0].out_features;
    // One weight per thread: many small products without a pool wake-up for each.
    static ThreadPool serial(1);  // no workers: runs in the calling thread, safe to share
    default_thread_pool().parallel_for(
        static_cast<int64_t>(ws.size()), [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i)
            kernels::linear_cpu(ws[i], x + i * n * in, n, y + i * n * out, serial, act_);
        });
  }

  void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps,
                float* y) override {
    kernels::cpu::rms_norm_cpu(x, w, rows, dim, eps, y, default_thread_pool());
  }

  void silu_mul(const float* gate, const float* up, int64_t count, float* out) override {
    kernels::cpu::silu_mul_cpu(gate, up, count, out, default_thread_pool());
  }

  void rope(const kernels::RopeTable& rope, const int32_t* positions, int64_t n, int64_t heads,
            int64_t stride, int64_t offset, float* x) override {
    rope_.apply(rope, positions, n, heads, stride, offset, x);
  }

  void attention(const kernels::MhaShape& shape, const kernels::TokenLayout& tokens,
                 const kernels::PagedCache& cache, const float* q, float* out) override {
    kernels::cpu::paged_attention_cpu(shape, tokens, cache, q, out, default_thread_pool());
  }

  void mla_attention(const kernels::MlaShape& shape, const kernels::TokenLayout& tokens,
                     const kernels::PagedCache& cache, const float* q_latent, const float* q_rope,
                     float* out) override {
    kernels::cpu::paged_mla_attention_cpu(shape, tokens, cache, q_latent, q_rope, out,
                                          default_thread_pool());
  }

 private:
  kernels::ActivationPrecision act_;
  kernels::cpu::RopeAngles rope_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(kernels::ActivationPrecision act) {
  return std::make_unique<CpuBackend>(act);
}

}  // namespace fathom::runtime
