// Prices per model, in exact integer nano-units of the currency, with monthly volume tiers per
// tenant. "0.1 per 1K tokens" is 100,000 nano-units per token; costs are sums of integers, so
// a billing report equals the sum of its ledger rows to the last unit.
#pragma once

#include <cstdint>
#include <map>
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

struct ModelPrice {
  std::string currency = "USD";
  std::vector<PriceTier> tiers;  ///< ascending from_monthly_tokens; tiers[0].from == 0
};

/// "0.1" (a decimal price per 1K tokens, up to 6 decimals) -> nano-units per token.
Result<int64_t> parse_price_per_1k(const std::string& text);

/// "1234.5" style rendering of nano-units (for reports), exact.
std::string format_nanos(int64_t nanos);

class PriceTable {
 public:
  Status set(const std::string& model, ModelPrice price);
  bool has(const std::string& model) const { return prices_.count(model) > 0; }
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
