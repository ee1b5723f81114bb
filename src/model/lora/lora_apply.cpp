#include "model/lora/lora_apply.h"

#include <algorithm>
#include <vector>

namespace fathom::model::lora {

int64_t add_lora_delta(runtime::Backend& backend, int32_t target_idx,
                       std::span<const LoraAdapter* const> row_adapters, const float* x, int64_t in,
                       float* y, int64_t out) {
  const auto n = static_cast<int64_t>(row_adapters.size());
  std::vector<int64_t> rows;
  std::vector<float> scale;
  std::vector<const LoraAdapter*> done;
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
    const runtime::Buffer xs = backend.alloc({m, in}), xa = backend.alloc({m, rank}),
                          delta = backend.alloc({m, out});
    backend.gather_rows(x, in, rows, xs.f32(), in, 0);
    backend.linear(d->a, xs.f32(), m, xa.f32());     // [m, r]
    backend.linear(d->b, xa.f32(), m, delta.f32());  // [m, out]
    scale.assign(rows.size(), a->scale);
    backend.scatter_add_rows(delta.f32(), out, rows, scale, y);
    flops += 2 * m * rank * (in + out);
  }
  return flops;
}

}  // namespace fathom::model::lora
