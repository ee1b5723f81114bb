#include "gateway/lb/policies.h"

namespace fathom::gateway {

Result<std::unique_ptr<LoadBalancer>> make_load_balancer(std::string_view policy) {
  if (policy == "round_robin") return std::unique_ptr<LoadBalancer>(new RoundRobin());
  if (policy == "least_outstanding") return std::unique_ptr<LoadBalancer>(new LeastOutstanding());
  if (policy == "power_of_two") return std::unique_ptr<LoadBalancer>(new PowerOfTwo());
  if (policy == "prefix_affinity") return std::unique_ptr<LoadBalancer>(new PrefixAffinity());
  return invalid_argument("unknown load-balancing policy '" + std::string(policy) +
                          "' (round_robin, least_outstanding, power_of_two, prefix_affinity)");
}

}  // namespace fathom::gateway
