#include "gateway/billing/price_table.h"

#include <algorithm>
#include <cctype>

namespace fathom::gateway {

Result<int64_t> parse_price_per_1k(const std::string& text) {
  // integer part and up to 6 decimals, no sign, no exponent: money is not a float
  int64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool seen_dot = false, seen_digit = false;
  for (char c : text) {
    if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      seen_digit = true;
      if (seen_dot) {
        if (++frac_digits > 6) return invalid_argument("price '" + text + "' has more than 6 decimals");
        frac = frac * 10 + (c - '0');
      } else {
        if (whole > 1'000'000'000) return invalid_argument("price '" + text + "' is too large");
        whole = whole * 10 + (c - '0');
      }
    } else {
      return invalid_argument("price '" + text + "' is not a plain decimal number");
    }
  }
  if (!seen_digit) return invalid_argument("price '" + text + "' is empty");
  while (frac_digits++ < 6) frac *= 10;
  // per 1K tokens in micro-units == per token in nano-units
  return whole * 1'000'000 + frac;
}

std::string format_nanos(int64_t nanos) {
  const bool neg = nanos < 0;
  const uint64_t v = neg ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  std::string frac = std::to_string(v % 1'000'000'000);
  frac.insert(0, 9 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return (neg ? "-" : "") + std::to_string(v / 1'000'000'000) + "." + frac;
}

int64_t round_up_to_granularity_ms(int64_t duration_ns, int64_t granularity_ms) {
  if (duration_ns <= 0 || granularity_ms <= 0) return 0;
  const int64_t step_ns = granularity_ms * 1'000'000;
  return (duration_ns + step_ns - 1) / step_ns * granularity_ms;
}

const ComputePrice* PriceTable::compute_plan(const std::string& model) const {
  auto it = prices_.find(model);
  return it == prices_.end() || !it->second.compute ? nullptr : &*it->second.compute;
}

ComputeCharge PriceTable::compute_cost(const ComputePrice& plan, int64_t duration_ns) {
  ComputeCharge c;
  c.granularity_ms = plan.granularity_ms;
  c.billed_ms = round_up_to_granularity_ms(duration_ns, plan.granularity_ms);
  c.cost_nanos = c.billed_ms * plan.nanos_per_ms;
  return c;
}

Status PriceTable::set(const std::string& model, ModelPrice price) {
  if (price.compute) {
    prices_[model] = std::move(price);
    return ok_status();
  }
  if (price.tiers.empty()) return invalid_argument("prices." + model + ": no price given");
  std::sort(price.tiers.begin(), price.tiers.end(),
            [](const PriceTier& a, const PriceTier& b) { return a.from_monthly_tokens < b.from_monthly_tokens; });
  if (price.tiers[0].from_monthly_tokens != 0)
    return invalid_argument("prices." + model + ": the first tier must start at 0 tokens");
  prices_[model] = std::move(price);
  return ok_status();
}

Result<int64_t> PriceTable::cost(const std::string& model, int64_t monthly_tokens_before,
                                 int64_t prompt_tokens, int64_t cached_prompt_tokens,
                                 int64_t completion_tokens) const {
  auto it = prices_.find(model);
  if (it == prices_.end()) return not_found("no price for model '" + model + "'");
  if (it->second.compute) return int64_t{0};  // per_compute: the time is billed, not the tokens
  const PriceTier* tier = &it->second.tiers[0];
  for (const PriceTier& t : it->second.tiers)
    if (monthly_tokens_before >= t.from_monthly_tokens) tier = &t;
  const int64_t cached = std::clamp<int64_t>(cached_prompt_tokens, 0, prompt_tokens);
  return (prompt_tokens - cached) * tier->input_nanos_per_token +
         cached * tier->cached_input_nanos_per_token + completion_tokens * tier->output_nanos_per_token;
}

}  // namespace fathom::gateway
