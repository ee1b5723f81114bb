// Prices per model, in exact integer nano-units of the currency, with monthly volume tiers per
// tenant. "0.1 per 1K tokens" is 100,000 nano-units per token; costs are sums of integers, so
// a billing report equals the sum of its ledger rows to the last unit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::gateway {

struct PriceTier {
  int64_t from_monthly_tokens = 0;  ///< applies once the tenant used this many tokens this month
  int64_t input_nanos_per_token = 0;
  int64_t cached_input_nanos_per_token = 0;
  int64_t output_nanos_per_token = 0;
};

/// A per_compute plan (serverless pools): the customer pays for the time a request spent on its
/// instance, rounded up to `granularity_ms`, at a price per instance-second.
struct ComputePrice {
  /// The price per instance-second in micro-units, which is also nano-units per millisecond
  /// (price * 1e9 nano-units / 1000 ms): the cost of any whole number of ms is an exact integer.
  int64_t nanos_per_ms = 0;
  int64_t granularity_ms = 100;
  bool bill_cold_start = false;  ///< whether the wait for an instance to start is billed too
};

/// What one request on a per_compute plan costs.
struct ComputeCharge {
  int64_t billed_ms = 0;  ///< the duration rounded up to the granularity
  int64_t granularity_ms = 0;
  int64_t cost_nanos = 0;
};

/// `duration` (nanoseconds) rounded up to whole `granularity_ms` steps, in ms; 0 stays 0.
int64_t round_up_to_granularity_ms(int64_t duration_ns, int64_t granularity_ms);

struct ModelPrice {
  std::string currency = "USD";
  std::vector<PriceTier> tiers;  ///< ascending from_monthly_tokens; tiers[0].from == 0 (per_token)
  std::optional<ComputePrice> compute;  ///< set: a per_compute plan (tiers unused)
};

/// "0.1" (a decimal price per 1K tokens, up to 6 decimals) -> nano-units per token.
Result<int64_t> parse_price_per_1k(const std::string& text);

/// "1234.5" style rendering of nano-units (for reports), exact.
std::string format_nanos(int64_t nanos);

class PriceTable {
 public:
  Status set(const std::string& model, ModelPrice price);
  bool has(const std::string& model) const { return prices_.count(model) > 0; }
  /// The model's per_compute plan; nullptr when it has none (per_token or no price).
  const ComputePrice* compute_plan(const std::string& model) const;
  /// A per_compute request's charge for `duration_ns` on its instance.
  static ComputeCharge compute_cost(const ComputePrice& plan, int64_t duration_ns);
  /// The model's currency; "" when it has no price.
  std::string currency(const std::string& model) const {
    auto it = prices_.find(model);
    return it == prices_.end() ? std::string() : it->second.currency;
  }

  /// Cost of one request in nano-units, priced at the tier the tenant is in
  /// (monthly_tokens_before = the tenant's tokens this month before this request).
  /// Cached prompt tokens are billed at the cached price; the rest at the input price.
  Result<int64_t> cost(const std::string& model, int64_t monthly_tokens_before,
                       int64_t prompt_tokens, int64_t cached_prompt_tokens,
                       int64_t completion_tokens) const;

 private:
  std::map<std::string, ModelPrice> prices_;
};

}  // namespace fathom::gateway
