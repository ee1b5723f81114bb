// Prefix affinity: requests whose prompts start alike go to the same server, so its prefix
// cache is reused. Rendezvous (highest-random-weight) hashing of the affinity key keeps the
// mapping stable when endpoints come and go; a bounded-load rule spills to the next choice
// when the preferred endpoint has more than kLoadFactor x the average outstanding (+1).
#include <algorithm>
#include <vector>

#include "gateway/lb/policies.h"

namespace fathom::gateway {
namespace {

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

constexpr double kLoadFactor = 1.5;

}  // namespace

std::optional<size_t> PrefixAffinity::pick(std::span<const EndpointView> endpoints,
                                           const PickContext& ctx) {
  if (ctx.affinity_key.empty()) return fallback_.pick(endpoints, ctx);
  const uint64_t key = fnv1a(ctx.affinity_key);
  std::vector<std::pair<uint64_t, size_t>> ranked;
  int64_t total = 0;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    if (!endpoints[i].eligible) continue;
    ranked.push_back({mix(key ^ fnv1a(endpoints[i].id)), i});
    total += endpoints[i].outstanding;
  }
  if (ranked.empty()) return std::nullopt;
  std::sort(ranked.begin(), ranked.end(), std::greater<>());
  const double limit = kLoadFactor * (static_cast<double>(total) / static_cast<double>(ranked.size()) + 1.0);
  for (const auto& [weight, i] : ranked)
    if (static_cast<double>(endpoints[i].outstanding) <= limit) return i;
  return ranked.front().second;
}

}  // namespace fathom::gateway
