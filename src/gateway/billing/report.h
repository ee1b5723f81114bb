// Billing report for one tenant and month, computed from the ledger rows (so its totals equal
// the ledger exactly), rendered as CSV or JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gateway/billing/ledger.h"

namespace fathom::gateway {

struct UsageTotals {
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t cost_nanos = 0;
};

struct BillingReport {
  std::string tenant;
  std::string month;
  std::map<std::string, UsageTotals> by_model;
  UsageTotals total;
};

BillingReport make_billing_report(const std::string& tenant, const std::string& month,
                                  const std::vector<UsageRecord>& rows);
std::string render_csv(const BillingReport& r);
std::string render_json(const BillingReport& r);

}  // namespace fathom::gateway
