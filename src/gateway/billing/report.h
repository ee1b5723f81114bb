// Billing report for one tenant and month, computed from the ledger rows (so its totals equal
// the ledger exactly), rendered as CSV or JSON. Both price plans appear: per_token rows by their
// tokens, per_compute rows by their billed instance time (and its granularity in the ledger).
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
  int64_t billed_ms = 0;             ///< per_compute rows: billed instance time
  int64_t per_token_requests = 0;    ///< rows billed by tokens ...
  int64_t per_compute_requests = 0;  ///< ... and by instance time
  /// per_token, per_compute, or mixed (the plan changed within the month).
  std::string plan() const;
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
