// Load-balancing policies pick one upstream endpoint of a pool for a request. One policy per
// file; each is a pure decision over a snapshot of the endpoints.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fathom::gateway {

/// What a policy may look at. `eligible` is false for endpoints that are unhealthy or whose
/// breaker is open; policies never pick those.
struct EndpointView {
  std::string_view id;
  int64_t outstanding = 0;  ///< requests in flight to it from this gateway
  bool eligible = true;
};

struct PickContext {
  std::string_view affinity_key;  ///< e.g. the start of the prompt; empty when unknown
  uint64_t random = 0;            ///< injected randomness (tests pass fixed values)
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  /// Index into `endpoints`, or nullopt when none is eligible.
  virtual std::optional<size_t> pick(std::span<const EndpointView> endpoints,
                                     const PickContext& ctx) = 0;
};

/// "round_robin", "least_outstanding", "power_of_two", "prefix_affinity".
Result<std::unique_ptr<LoadBalancer>> make_load_balancer(std::string_view policy);

}  // namespace fathom::gateway
