#include "gateway/lb/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace fathom::gateway {
namespace {

std::unique_ptr<LoadBalancer> make(std::string_view name) {
  auto lb = make_load_balancer(name);
  EXPECT_TRUE(lb.ok()) << lb.status().to_string();
  return std::move(*lb);
}

TEST(LoadBalancerTest, RoundRobinSkipsIneligibleEndpoints) {
  auto lb = make("round_robin");
  std::vector<EndpointView> eps = {{"a", 0, true}, {"b", 0, false}, {"c", 0, true}};
  std::map<size_t, int> hits;
  for (int i = 0; i < 100; ++i) ++hits[*lb->pick(eps, {})];
  EXPECT_EQ(hits.count(1), 0u);
  EXPECT_EQ(hits[0], 50);
  EXPECT_EQ(hits[2], 50);
}

TEST(LoadBalancerTest, NoEligibleEndpointMeansNoPick) {
  for (auto name : {"round_robin", "least_outstanding", "power_of_two", "prefix_affinity"}) {
    auto lb = make(name);
    std::vector<EndpointView> eps = {{"a", 0, false}};
    EXPECT_FALSE(lb->pick(eps, {"key", 7}).has_value()) << name;
    EXPECT_FALSE(lb->pick({}, {}).has_value()) << name;
  }
}

TEST(LoadBalancerTest, LeastOutstandingPicksTheIdlest) {
  auto lb = make("least_outstanding");
  std::vector<EndpointView> eps = {{"a", 5, true}, {"b", 1, true}, {"c", 0, false}, {"d", 3, true}};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*lb->pick(eps, {}), 1u);
}

TEST(LoadBalancerTest, PowerOfTwoNeverPicksTheBusierOfItsTwoChoices) {
  auto lb = make("power_of_two");
  std::vector<EndpointView> eps = {{"a", 9, true}, {"b", 0, true}};
  for (uint64_t r = 0; r < 20; ++r) EXPECT_EQ(*lb->pick(eps, {"", r}), 1u);
  std::vector<EndpointView> three = {{"a", 0, true}, {"b", 5, true}, {"c", 9, true}};
  std::map<size_t, int> hits;
  for (uint64_t r = 0; r < 600; ++r) ++hits[*lb->pick(three, {"", r * 2654435761u})];
  EXPECT_EQ(hits.count(2), 0u);  // the busiest loses every pair it is in
  EXPECT_GT(hits[0], hits[1]);
}

TEST(LoadBalancerTest, PrefixAffinityIsStableAndSpreadsKeys) {
  auto lb = make("prefix_affinity");
  std::vector<EndpointView> eps = {{"s1", 0, true}, {"s2", 0, true}, {"s3", 0, true}};
  std::map<size_t, int> hits;
  for (int k = 0; k < 300; ++k) {
    const std::string key = "system prompt " + std::to_string(k);
    const size_t first = *lb->pick(eps, {key, 0});
    EXPECT_EQ(*lb->pick(eps, {key, 99}), first);  // same key, same server
    ++hits[first];
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_GT(hits[i], 60) << i;
  // Removing one server only moves the keys that were on it.
  std::vector<EndpointView> without = eps;
  without[2].eligible = false;
  for (int k = 0; k < 300; ++k) {
    const std::string key = "system prompt " + std::to_string(k);
    const size_t before = *lb->pick(eps, {key, 0});
    if (before != 2) {
      EXPECT_EQ(*lb->pick(without, {key, 0}), before);
    }
  }
}

TEST(LoadBalancerTest, PrefixAffinitySpillsOffAnOverloadedServer) {
  auto lb = make("prefix_affinity");
  std::vector<EndpointView> eps = {{"s1", 0, true}, {"s2", 0, true}};
  const size_t home = *lb->pick(eps, {"k", 0});
  eps[home].outstanding = 50;
  EXPECT_NE(*lb->pick(eps, {"k", 0}), home);
}

TEST(LoadBalancerTest, UnknownPolicyIsAClearError) {
  auto lb = make_load_balancer("random_walk");
  ASSERT_FALSE(lb.ok());
  EXPECT_NE(lb.status().message().find("random_walk"), std::string::npos);
}

}  // namespace
}  // namespace fathom::gateway
