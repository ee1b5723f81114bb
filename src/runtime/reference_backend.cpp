// The oracle backend: kernels/ref on one thread (linear_ref accumulates in double).
#include "base/thread_pool.h"
#include "runtime/host_backend.h"

namespace fathom::runtime {
namespace {

class ReferenceBackend final : public HostBackend {
 public:
  const char* name() const override { return "reference"; }

  void linear(const kernels::LinearWeight& w, const float* x, int64_t n, float* y) override {
    kernels::linear_ref(w, x, n, y);
  }

  void linear_group(const std::vector<kernels::LinearWeight>& ws, const float* x, int64_t n,
                    float* y) override {
    if (ws.empty()) return;
    const int64_t in = ws[0].in_features, out = ws[0].out_features;
    for (size_t i = 0; i < ws.size(); ++i) {
      const auto k = static_cast<int64_t>(i);
      kernels::linear_ref(ws[i], x + k * n * in, n, y + k * n * out);
    }
  }

  void attention(const kernels::MhaShape& shape, const kernels::TokenLayout& tokens,
                 const kernels::PagedCache& cache, const float* q, float* out) override {
    kernels::paged_attention(shape, tokens, cache, q, out, single_);
  }

  void mla_attention(const kernels::MlaShape& shape, const kernels::TokenLayout& tokens,
                     const kernels::PagedCache& cache, const float* q_latent, const float* q_rope,
                     float* out) override {
    kernels::paged_mla_attention(shape, tokens, cache, q_latent, q_rope, out, single_);
  }

 private:
  ThreadPool single_{1};  // no workers: the reference kernels run in the calling thread
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace fathom::runtime
