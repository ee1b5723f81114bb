// Power of two choices: two random eligible endpoints, the less loaded wins. Nearly as good as
// least-outstanding with far less herding when many gateways see stale counts.
#include <vector>

#include "gateway/lb/policies.h"

namespace fathom::gateway {

std::optional<size_t> PowerOfTwo::pick(std::span<const EndpointView> endpoints,
                                       const PickContext& ctx) {
  std::vector<size_t> eligible;
  for (size_t i = 0; i < endpoints.size(); ++i)
    if (endpoints[i].eligible) eligible.push_back(i);
  if (eligible.empty()) return std::nullopt;
  if (eligible.size() == 1) return eligible[0];
  const uint64_t n = eligible.size();
  const uint64_t first = ctx.random % n;
  const uint64_t second = (first + 1 + (ctx.random / n) % (n - 1)) % n;  // never == first
  const size_t a = eligible[first], b = eligible[second];
  return endpoints[b].outstanding < endpoints[a].outstanding ? b : a;
}

}  // namespace fathom::gateway
