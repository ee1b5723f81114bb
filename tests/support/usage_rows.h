// Ledger rows for the billing tests: tenant "acme", key "k1", upstream "u1", status 200, in
// November 2026.
#pragma once

#include <cstdint>
#include <string>

#include "gateway/billing/ledger.h"

namespace fathom::testing {

constexpr int64_t kNov2026 = 1795000000000;  // 2026-11-18, in ms

inline gateway::UsageRecord usage_row(const std::string& id, const std::string& model, int64_t prompt,
                                      int64_t completion, int64_t cost) {
  gateway::UsageRecord r;
  r.request_id = id;
  r.time_ms = kNov2026;
  r.tenant = "acme";
  r.key_id = "k1";
  r.model = model;
  r.upstream = "u1";
  r.prompt_tokens = prompt;
  r.completion_tokens = completion;
  r.cost_nanos = cost;
  r.status = 200;
  return r;
}

}  // namespace fathom::testing
