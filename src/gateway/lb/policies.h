// The load-balancing policies (one .cpp each) and their factory.
#pragma once

#include <atomic>

#include "gateway/lb/load_balancer.h"

namespace fathom::gateway {

class RoundRobin final : public LoadBalancer {
 public:
  std::optional<size_t> pick(std::span<const EndpointView> endpoints, const PickContext& ctx) override;

 private:
  std::atomic<uint64_t> next_{0};
};

class LeastOutstanding final : public LoadBalancer {
 public:
  std::optional<size_t> pick(std::span<const EndpointView> endpoints, const PickContext& ctx) override;

 private:
  std::atomic<uint64_t> rotate_{0};
};

class PowerOfTwo final : public LoadBalancer {
 public:
  std::optional<size_t> pick(std::span<const EndpointView> endpoints, const PickContext& ctx) override;
};

class PrefixAffinity final : public LoadBalancer {
 public:
  std::optional<size_t> pick(std::span<const EndpointView> endpoints, const PickContext& ctx) override;

 private:
  LeastOutstanding fallback_;  // for requests without an affinity key
};

}  // namespace fathom::gateway
