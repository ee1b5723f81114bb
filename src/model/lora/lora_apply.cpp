#include "model/lora/lora_apply.h"

#include <algorithm>
#include <vector>

namespace fathom::model::lora {

int64_t add_lora_delta(int32_t target_idx, std::span<const LoraAdapter* const> row_adapters,
                       const float* x, int64_t in, float* y, int64_t out, const LinearFn& linear) {
  const auto n = static_cast<int64_t>(row_adapters.size());
  // Activations kept per thread and reused across layers and steps.
  thread_local std::vector<float> xs, xa, delta;
  thread_local std::vector<int64_t> rows;
  thread_local std::vector<const LoraAdapter*> done;
  done.clear();
  int64_t flops = 0;
  for (int64_t r0 = 0; r0 < n; ++r0) {
    const LoraAdapter* a = row_adapters[r0];
    if (!a || std::find(done.begin(), done.end(), a) != done.end()) continue;
    done.push_back(a);
    const std::optional<LoraDelta>& d = a->deltas[static_cast<size_t>(target_idx)];
    if (!d) continue;
    rows.clear();
    for (int64_t r = r0; r < n; ++r)
      if (row_adapters[r] == a) rows.push_back(r);
    const auto m = static_cast<int64_t>(rows.size());
    const int64_t rank = d->a.out_features;
    xs.resize(static_cast<size_t>(m * in));
    xa.resize(static_cast<size_t>(m * rank));
    delta.resize(static_cast<size_t>(m * out));
    for (int64_t i = 0; i < m; ++i) std::copy_n(x + rows[i] * in, in, xs.data() + i * in);
    linear(d->a, xs.data(), m, xa.data());     // [m, r]
    linear(d->b, xa.data(), m, delta.data());  // [m, out]
    for (int64_t i = 0; i < m; ++i) {
      float* dst = y + rows[i] * out;
      const float* src = delta.data() + i * out;
      for (int64_t j = 0; j < out; ++j) dst[j] += a->scale * src[j];
    }
    flops += 2 * m * rank * (in + out);
  }
  return flops;
}

}  // namespace fathom::model::lora
