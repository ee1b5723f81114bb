#include "plan/decision.h"

#include <cmath>
#include <sstream>

namespace fathom::plan {
namespace {

std::string money(const Decimal& d, Currency c) { return d.to_string(0) + " " + currency_name(c); }

std::string pct(double x) {
  std::ostringstream o;
  o.precision(x < 0.1 ? 2 : 3);
  o << x * 100 << " %";
  return o.str();
}

std::string fixed1(double x) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << x;
  return o.str();
}

const CostOption* cheaper(const CostOption* a, const CostOption* b) {
  if (!a || !a->available) return b && b->available ? b : nullptr;
  if (!b || !b->available) return a;
  return b->total < a->total ? b : a;
}

// Owned vs hybrid for data that must stay on premises, with the burst ratio behind it.
void private_or_hybrid(const Workload& w, const Sizing& s, const Tco& t, Decision& d) {
  const CostOption& owned = t.option(CostKind::kOwned);
  const CostOption& hybrid = t.option(CostKind::kHybrid);
  const double burst = static_cast<double>(s.peak_replicas) /
                       static_cast<double>(std::max<int64_t>(1, s.min_replicas));
  d.reasons.push_back("burst ratio (peak-hour replicas / quietest-hour replicas): " +
                      std::to_string(s.peak_replicas) + " / " + std::to_string(s.min_replicas) +
                      " = " + fixed1(burst));
  if (hybrid.available && owned.available && hybrid.total < owned.total) {
    d.mode = Mode::kHybrid;
    d.billing = CostKind::kHybrid;
    d.reasons.push_back(
        "hybrid: owning the base (" + hybrid.note + ") and renting the bursts costs " +
        money(hybrid.total, t.currency) + " over " + std::to_string(t.months) + " months against " +
        money(owned.total, t.currency) +
        " for owning the peak; sensitive requests stay on premises (gateway zones)");
    return;
  }
  d.mode = Mode::kPrivate;
  d.billing = CostKind::kOwned;
  if (!hybrid.available)
    d.reasons.push_back("private: " + hybrid.note);
  else if (owned.available)
    d.reasons.push_back("private: owning the peak (" + money(owned.total, t.currency) +
                        ") is no dearer than hybrid (" + money(hybrid.total, t.currency) +
                        "), so bursting to the cloud does not pay");
  if (w.site_power_kw && s.power_kw > *w.site_power_kw)
    d.reasons.push_back("warning: the peak deployment draws " + fixed1(s.power_kw) +
                        " kW of device TDP, over the site's " + fixed1(*w.site_power_kw) + " kW");
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kSaas:
      return "saas";
    case Mode::kServerless:
      return "serverless";
    case Mode::kPrivate:
      return "private";
    case Mode::kHybrid:
      return "hybrid";
    case Mode::kEdge:
      return "edge";
    case Mode::kIndustryCloud:
      return "industry_cloud";
  }
  return "?";
}

Decision decide(const Workload& w, const Sizing& s, const Tco& t,
                const std::optional<EdgeFit>& edge) {
  Decision d;
  const Currency cur = t.currency;
  if (edge) {
    d.mode = Mode::kEdge;
    d.billing = CostKind::kOwned;
    d.reasons.push_back("the workload names edge device " + edge->device_id +
                        ": the model must run on it");
    for (const std::string& tr : edge->tried) d.reasons.push_back("  " + tr);
    if (!edge->fitting_format) {
      d.reasons.push_back(
          "edge: no format fits the device; choose a smaller model (e.g. "
          "deepseek-r1-distill-qwen-1.5b)");
    } else {
      const std::string& f = *edge->fitting_format;
      if (f != edge->requested_format)
        d.reasons.push_back(
            "edge quantization: " + edge->requested_format + " does not fit the device" +
            (edge->meets_targets ? " and its targets, " : ", ") + f +
            " is the largest format that does (a checkpoint in it, or fathom serve --quantization "
            "for int8, int4, fp8)");
      else
        d.reasons.push_back("edge: " + f + " fits the device as it is");
      if (!edge->meets_targets)
        d.reasons.push_back("warning: no format meets the TTFT/TPOT targets on " + edge->device_id +
                            "; relax them or choose a smaller model");
    }
    d.overlay = "";
    return d;
  }

  // 1. Data sensitivity.
  if (w.sensitivity == Sensitivity::kHigh) {
    d.reasons.push_back(
        "data sensitivity is high: requests must not leave premises you control, so no SaaS, "
        "serverless or public cloud for them (" +
        pct(w.sensitive_share) + " of traffic is sensitive)");
    private_or_hybrid(w, s, t, d);
    d.overlay = mode_name(d.mode);
  } else {
    if (w.sensitivity == Sensitivity::kMedium)
      d.reasons.push_back(
          "data sensitivity is medium: public clouds are acceptable with the gateway's redaction "
          "and audit log");
    // 2. Budget.
    // The cheapest dedicated option: everything but pay-per-use (SaaS, serverless).
    const CostOption* self_hosted = nullptr;
    for (CostKind k : {CostKind::kOwned, CostKind::kHybrid, CostKind::kOnDemand,
                       CostKind::kReserved, CostKind::kSpot})
      self_hosted = cheaper(self_hosted, &t.option(k));
    const bool tight = w.monthly_budget && self_hosted &&
                       self_hosted->total.divided_by(t.months) > *w.monthly_budget;
    if (tight) {
      d.reasons.push_back("budget is tight: the cheapest dedicated option (" +
                          std::string(cost_kind_name(self_hosted->kind)) + ", " +
                          money(self_hosted->total.divided_by(t.months), cur) +
                          " a month on average) is over the " + money(*w.monthly_budget, cur) +
                          " monthly budget, so pay per use");
      const CostOption* pick =
          cheaper(w.customization == Customization::kNone ? &t.option(CostKind::kSaas) : nullptr,
                  &t.option(CostKind::kServerless));
      if (w.customization != Customization::kNone)
        d.reasons.push_back("SaaS is ruled out: the workload needs " +
                            std::string(customization_name(w.customization)));
      if (!pick) pick = self_hosted;
      d.mode = pick->kind == CostKind::kSaas         ? Mode::kSaas
               : pick->kind == CostKind::kServerless ? Mode::kServerless
                                                     : Mode::kIndustryCloud;
      d.billing = pick->kind;
      d.reasons.push_back(std::string(mode_name(d.mode)) + ": " +
                          money(pick->total.divided_by(t.months), cur) + " a month on average (" +
                          pick->note + ")");
    } else if (w.customization != Customization::kNone) {
      // 3. Customization.
      d.reasons.push_back("customization (" + std::string(customization_name(w.customization)) +
                          ") needs your own weights or adapters on servers you control");
      private_or_hybrid(w, s, t, d);
    } else {
      // 4. Industry cloud, billed the cheapest way for this utilisation.
      d.mode = Mode::kIndustryCloud;
      d.reasons.push_back(
          "no sensitivity, budget or customization constraint: run on a (industry) cloud and pay "
          "for what the traffic needs");
      const CostOption* pick = nullptr;
      for (CostKind k : {CostKind::kOnDemand, CostKind::kReserved, CostKind::kServerless})
        pick = cheaper(pick, &t.option(k));
      if (!pick) pick = self_hosted;
      if (pick) {
        d.billing = pick->kind;
        if (pick->kind == CostKind::kServerless) d.mode = Mode::kServerless;
      }
      if (t.serverless_breakeven_utilisation)
        d.reasons.push_back("utilisation " + pct(s.utilisation) + " vs the serverless break-even " +
                            pct(*t.serverless_breakeven_utilisation) +
                            ": below it serverless (100 ms billing) is cheaper than reserved "
                            "instances, above it reserved wins");
      if (pick)
        d.reasons.push_back("billing: " + std::string(cost_kind_name(pick->kind)) + " at " +
                            money(pick->total, cur) + " over " + std::to_string(t.months) +
                            " months");
      const CostOption& spot = t.option(CostKind::kSpot);
      if (spot.available && pick && spot.total < pick->total)
        d.reasons.push_back(
            "spot would cost " + money(spot.total, cur) +
            " but can be preempted: use it for batch work or behind an on-demand fallback");
    }
    d.overlay = d.mode == Mode::kIndustryCloud ? "saas"
                : d.mode == Mode::kSaas        ? ""
                                               : mode_name(d.mode);
  }
  if (!t.cheapest())
    d.reasons.push_back(
        "no option is priced for this device, so the costs cannot be compared (add its prices to "
        "the catalogue)");
  const CostOption& saas = t.option(CostKind::kSaas);
  if (d.mode != Mode::kSaas && saas.available)
    d.reasons.push_back("for comparison, the SaaS API (" + saas.note + ") would cost " +
                        money(saas.total, cur) + " over " + std::to_string(t.months) + " months");
  if (w.monthly_budget) {
    const CostOption& billed = t.option(d.billing);
    d.within_budget = billed.available && billed.total.divided_by(t.months) <= *w.monthly_budget;
    if (!d.within_budget)
      d.reasons.push_back("warning: even this choice is over the monthly budget of " +
                          money(*w.monthly_budget, cur));
  }
  return d;
}

}  // namespace fathom::plan
