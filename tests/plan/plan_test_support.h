// Shared inputs of the plan tests: the round-number test catalogue and a hand-made sizing.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "plan/catalogue.h"
#include "plan/sizing.h"
#include "plan/workload.h"

namespace fathom::plan::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline Catalogue test_catalogue() {
  return *parse_catalogue(read_text("tests/data/plan/test_catalogue.yaml"), "test_catalogue.yaml");
}

/// 1 request/s, prompts 1000 (25 % cached), outputs 200; 36 months in USD.
inline Workload test_workload() {
  Workload w;
  w.model = "deepseek-v3";
  w.requests_per_s = 1.0;
  w.prompt = {1000, 1000};
  w.output = {200, 200};
  w.cached_prompt_share = 0.25;
  w.hourly.fill(1.0);
  return w;
}

/// Replicas of 2 devices: 1 for 12 hours, 3 for the other 12; 4 requests/s each.
inline Sizing test_sizing() {
  Sizing s;
  s.device_id = "gpu-a";
  s.feasible = true;
  s.devices_per_replica = 2;
  s.replica_requests_per_s = 4.0;
  for (size_t h = 0; h < 24; ++h) s.replicas_by_hour[h] = h < 12 ? 1 : 3;
  s.peak_replicas = 3;
  s.min_replicas = 1;
  s.utilisation = 1.0 / 12.0;
  return s;
}

}  // namespace fathom::plan::testing
