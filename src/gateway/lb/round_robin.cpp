// Round robin over the eligible endpoints: each gets an equal share even when others are out.
#include <vector>

#include "gateway/lb/policies.h"

namespace fathom::gateway {

std::optional<size_t> RoundRobin::pick(std::span<const EndpointView> endpoints,
                                       const PickContext& /*ctx*/) {
  std::vector<size_t> eligible;
  for (size_t i = 0; i < endpoints.size(); ++i)
    if (endpoints[i].eligible) eligible.push_back(i);
  if (eligible.empty()) return std::nullopt;
  return eligible[next_.fetch_add(1, std::memory_order_relaxed) % eligible.size()];
}

}  // namespace fathom::gateway
