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
    }
  }
  return r;
}

std::string render_csv(const BillingReport& r) {
  std::string out = "tenant,month,model,requests,prompt_tokens,completion_tokens,cached_tokens,cost\n";
  auto row = [&](const std::string& model, const UsageTotals& t) {
    out += r.tenant + "," + r.month + "," + model + "," + std::to_string(t.requests) + "," +
           std::to_string(t.prompt_tokens) + "," + std::to_string(t.completion_tokens) + "," +
           std::to_string(t.cached_tokens) + "," + format_nanos(t.cost_nanos) + "\n";
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
                          {"cost_nanos", t.cost_nanos}};
  };
  nlohmann::json j = {{"tenant", r.tenant}, {"month", r.month}, {"total", totals(r.total)}};
  j["models"] = nlohmann::json::object();
  for (const auto& [model, t] : r.by_model) j["models"][model] = totals(t);
  return j.dump(2) + "\n";
}

}  // namespace fathom::gateway
