// Three-year (or `months`) cost of running the sized deployment each way: owned hardware,
// hybrid (owned base + cloud bursts), cloud on-demand / reserved / spot, serverless billed in
// 100 ms steps, and a SaaS API billed per token. Every amount is an exact Decimal; the only
// inputs from the (floating-point) performance model are integer counts: replicas per hour,
// 100 ms steps per request, requests per month. docs/plan.md has each formula.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/catalogue.h"
#include "plan/decimal.h"
#include "plan/sizing.h"
#include "plan/workload.h"

namespace fathom::plan {

enum class CostKind { kOwned, kHybrid, kOnDemand, kReserved, kSpot, kServerless, kSaas };
const char* cost_kind_name(CostKind k);

/// One line of an option's bill, per month (capex: once, in month 1).
struct CostLine {
  std::string item;
  Decimal monthly;
  std::string basis;  ///< how it was computed, for the report
};

struct CostOption {
  CostKind kind = CostKind::kOwned;
  bool available = false;
  std::string note;  ///< why not available, or what it assumes
  Decimal capex;     ///< paid in month 1 (owned, hybrid)
  Decimal monthly;   ///< running cost per month
  std::vector<CostLine> lines;
  Decimal total;                    ///< capex + months x monthly
  std::vector<Decimal> cumulative;  ///< after month 1..months
};

/// Integer counts the bills are computed from.
struct UsageCounts {
  int64_t requests_per_month = 0;
  int64_t input_tokens_per_month = 0;
  int64_t cached_input_tokens_per_month = 0;
  int64_t output_tokens_per_month = 0;
  int64_t device_hours_per_year = 0;         ///< autoscaled to each hour's replicas
  int64_t serverless_steps_per_request = 0;  ///< 100 ms steps one request is billed
};

UsageCounts usage_counts(const Workload& w, const Sizing& s);

struct Tco {
  Currency currency = Currency::kUsd;
  int64_t months = 36;
  UsageCounts usage;
  std::vector<CostOption> options;  ///< in CostKind order
  /// Utilisation below which serverless costs less than reserved instances (nullopt when either
  /// is not priced): reserved per hour / (3600 x serverless per second).
  std::optional<double> serverless_breakeven_utilisation;

  const CostOption& option(CostKind k) const;
  /// The cheapest available option over the horizon (nullptr when none is).
  const CostOption* cheapest() const;
  /// The same among the options that run this sizing on this device (all but SaaS).
  const CostOption* cheapest_self_run() const;
  /// First month in which owning has cost no more in total than `other`; nullopt: never
  /// within the horizon.
  std::optional<int64_t> breakeven_month(CostKind other) const;
};

/// `saas` may be null (the model is not offered as a service).
Tco compute_tco(const Catalogue& cat, const Workload& w, const Device& device, const Sizing& s,
                const SaasOffer* saas);

}  // namespace fathom::plan
