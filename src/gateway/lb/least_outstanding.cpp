// Least outstanding requests; ties go to the endpoint after the previous pick, so equal
// endpoints still share load.
#include "gateway/lb/policies.h"

namespace fathom::gateway {

std::optional<size_t> LeastOutstanding::pick(std::span<const EndpointView> endpoints,
                                             const PickContext& /*ctx*/) {
  const size_t n = endpoints.size();
  std::optional<size_t> best;
  const uint64_t start = rotate_.fetch_add(1, std::memory_order_relaxed);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = static_cast<size_t>((start + k) % n);
    if (!endpoints[i].eligible) continue;
    if (!best || endpoints[i].outstanding < endpoints[*best].outstanding) best = i;
  }
  return best;
}

}  // namespace fathom::gateway
