#include "gateway/billing/report.h"

#include <nlohmann/json.hpp>

#include "gateway/billing/price_table.h"

namespace fathom::gateway {

BillingReport make_billing_report(const std::string& tenant, const std::string& month,
                                  const std::vector<UsageRecord>& rows) {
  BillingReport r{tenant, month, {}, {}};
  for (const UsageRecord& u : rows) {
    for (UsageTotals* t : {&r.by_model[u.model], &r.total}) {
      ++t->requests;
      t->prompt_tokens += u.prompt_tokens;
      t->completion_tokens += u.completion_tokens;
      t->cached_tokens += u.cached_tokens;
      t->cost_nanos += u.cost_nanos;
      t->billed_ms += u.billed_ms;
      ++(u.billing_granularity_ms > 0 ? t->per_compute_requests : t->per_token_requests);
    }
  }
  return r;
}

std::string UsageTotals::plan() const {
  if (per_compute_requests == 0) return "per_token";
  return per_token_requests == 0 ? "per_compute" : "mixed";
}

namespace {

// Exact seconds from milliseconds: "12.300".
std::string seconds_text(int64_t ms) {
  std::string frac = std::to_string(ms % 1000);
  return std::to_string(ms / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

}  // namespace

std::string render_csv(const BillingReport& r) {
  std::string out =
      "tenant,month,model,requests,prompt_tokens,completion_tokens,cached_tokens,cost,plan,billed_"
      "seconds\n";
  auto row = [&](const std::string& model, const UsageTotals& t) {
    out += r.tenant + "," + r.month + "," + model + "," + std::to_string(t.requests) + "," +
           std::to_string(t.prompt_tokens) + "," + std::to_string(t.completion_tokens) + "," +
           std::to_string(t.cached_tokens) + "," + format_nanos(t.cost_nanos) + "," + t.plan() +
           "," + seconds_text(t.billed_ms) + "\n";
  };
  for (const auto& [model, t] : r.by_model) row(model, t);
  row("TOTAL", r.total);
  return out;
}

std::string render_json(const BillingReport& r) {
  auto totals = [](const UsageTotals& t) {
    return nlohmann::json{{"requests", t.requests},
                          {"prompt_tokens", t.prompt_tokens},
                          {"completion_tokens", t.completion_tokens},
                          {"cached_tokens", t.cached_tokens},
                          {"cost", format_nanos(t.cost_nanos)},
                          {"cost_nanos", t.cost_nanos},
                          {"plan", t.plan()},
                          {"billed_ms", t.billed_ms},
                          {"per_token_requests", t.per_token_requests},
                          {"per_compute_requests", t.per_compute_requests}};
  };
  nlohmann::json j = {{"tenant", r.tenant}, {"month", r.month}, {"total", totals(r.total)}};
  j["models"] = nlohmann::json::object();
  for (const auto& [model, t] : r.by_model) j["models"][model] = totals(t);
  return j.dump(2) + "\n";
}

}  // namespace fathom::gateway
