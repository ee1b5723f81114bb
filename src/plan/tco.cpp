#include "plan/tco.h"

#include <algorithm>
#include <cmath>

namespace fathom::plan {
namespace {

constexpr int64_t kHoursPerMonth = 730;  // 8760 / 12

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void finish(CostOption& o, int64_t months) {
  o.monthly = Decimal();
  for (const CostLine& l : o.lines)
    if (l.item != "capex") o.monthly += l.monthly;
  o.total = o.capex + o.monthly.times(months);
  Decimal cum = o.capex;
  o.cumulative.clear();
  for (int64_t m = 0; m < months; ++m) {
    cum += o.monthly;
    o.cumulative.push_back(cum);
  }
  o.available = true;
}

CostOption unavailable(CostKind k, std::string why) {
  CostOption o;
  o.kind = k;
  o.note = std::move(why);
  return o;
}

// Owned hardware for `replicas` replicas of `n` devices.
CostOption owned(const Catalogue& cat, const Workload& w, const Device& d, int64_t n,
                 int64_t replicas, CostKind kind) {
  const Currency cur = w.currency;
  const std::optional<Decimal> unit = cat.in(d.purchase, cur);
  if (!unit) return unavailable(kind, d.id + " has no purchase price in the catalogue");
  const int64_t devices = n * replicas;
  const int64_t nodes = n >= d.max_per_node ? replicas * ceil_div(n, d.max_per_node)
                                            : ceil_div(devices, d.max_per_node);
  const Decimal node_price = cat.in(d.node_price, cur).value_or(Decimal());
  CostOption o;
  o.kind = kind;
  o.capex = unit->times(devices) + node_price.times(nodes);
  o.lines.push_back({"capex", o.capex,
                     std::to_string(devices) + " x " + unit->to_string() + " + " +
                         std::to_string(nodes) + " server(s) x " + node_price.to_string()});
  const SiteCosts& s = cat.site;
  const int64_t watts = devices * d.tdp_w + nodes * d.node_power_w;
  const Decimal kwh_price = cat.in(s.electricity_per_kwh, cur).value_or(Decimal());
  o.lines.push_back({"power", kwh_price.times(watts * kHoursPerMonth).times(s.pue).divided_by(1000),
                     std::to_string(watts) + " W x 730 h x PUE " + s.pue.exact_string() + " x " +
                         kwh_price.exact_string() + "/kWh"});
  // Edge boards sit where they are used: no data-centre rack.
  const int64_t racks = d.kind == DeviceKind::kEdge ? 0 : ceil_div(nodes, s.nodes_per_rack);
  const Decimal rack = cat.in(s.rack_per_month, cur).value_or(Decimal());
  o.lines.push_back(
      {"rack", rack.times(racks), std::to_string(racks) + " rack(s) x " + rack.to_string()});
  const Decimal staff = cat.in(s.ops_staff_per_month, cur).value_or(Decimal());
  o.lines.push_back({"operations staff", staff.times(s.ops_fte_per_node).times(nodes),
                     std::to_string(nodes) + " server(s) x " + s.ops_fte_per_node.exact_string() +
                         " FTE x " + staff.to_string()});
  o.lines.push_back({"maintenance", o.capex.times(s.maintenance_pct_per_year).divided_by(1200),
                     s.maintenance_pct_per_year.exact_string() + " % of capex a year"});
  finish(o, w.months);
  o.note = std::to_string(devices) + " x " + d.id + " bought, sized for the peak hour";
  return o;
}

CostOption cloud_hours(CostKind kind, const Price& price, const Catalogue& cat, const Workload& w,
                       const Device& d, int64_t device_hours_per_year, const char* what) {
  const std::optional<Decimal> p = d.cloud ? cat.in(price, w.currency) : std::nullopt;
  if (!p) return unavailable(kind, d.id + " has no " + what + " price in the catalogue");
  CostOption o;
  o.kind = kind;
  o.lines.push_back({what, p->scaled(device_hours_per_year, 12),
                     std::to_string(device_hours_per_year) + " device-hours a year / 12 x " +
                         p->exact_string() + "/h"});
  finish(o, w.months);
  return o;
}

}  // namespace

const char* cost_kind_name(CostKind k) {
  switch (k) {
    case CostKind::kOwned:
      return "owned";
    case CostKind::kHybrid:
      return "hybrid";
    case CostKind::kOnDemand:
      return "cloud_on_demand";
    case CostKind::kReserved:
      return "cloud_reserved";
    case CostKind::kSpot:
      return "cloud_spot";
    case CostKind::kServerless:
      return "serverless";
    case CostKind::kSaas:
      return "saas";
  }
  return "?";
}

UsageCounts usage_counts(const Workload& w, const Sizing& s) {
  UsageCounts u;
  u.requests_per_month = std::llround(w.requests_per_s * 3600.0 * kHoursPerMonth);
  u.input_tokens_per_month = u.requests_per_month * w.prompt.mean;
  u.cached_input_tokens_per_month =
      std::llround(static_cast<double>(u.input_tokens_per_month) * w.cached_prompt_share);
  u.output_tokens_per_month = u.requests_per_month * w.output.mean;
  for (int64_t r : s.replicas_by_hour) u.device_hours_per_year += r * s.devices_per_replica * 365;
  if (s.replica_requests_per_s > 0)
    u.serverless_steps_per_request =
        static_cast<int64_t>(std::ceil(10.0 / s.replica_requests_per_s - 1e-9));
  return u;
}

const CostOption& Tco::option(CostKind k) const { return options[static_cast<size_t>(k)]; }

const CostOption* Tco::cheapest() const {
  const CostOption* best = nullptr;
  for (const CostOption& o : options)
    if (o.available && (!best || o.total < best->total)) best = &o;
  return best;
}

const CostOption* Tco::cheapest_self_run() const {
  const CostOption* best = nullptr;
  for (const CostOption& o : options)
    if (o.available && o.kind != CostKind::kSaas && (!best || o.total < best->total)) best = &o;
  return best;
}

std::optional<int64_t> Tco::breakeven_month(CostKind other) const {
  const CostOption& a = option(CostKind::kOwned);
  const CostOption& b = option(other);
  if (!a.available || !b.available) return std::nullopt;
  for (size_t m = 0; m < a.cumulative.size(); ++m)
    if (a.cumulative[m] <= b.cumulative[m]) return static_cast<int64_t>(m) + 1;
  return std::nullopt;
}

Tco compute_tco(const Catalogue& cat, const Workload& w, const Device& d, const Sizing& s,
                const SaasOffer* saas) {
  Tco t;
  t.currency = w.currency;
  t.months = w.months;
  t.usage = usage_counts(w, s);
  const UsageCounts& u = t.usage;
  const int64_t n = s.devices_per_replica;
  const Currency cur = w.currency;

  t.options.push_back(owned(cat, w, d, n, s.peak_replicas, CostKind::kOwned));

  // Hybrid: own the always-on base (and everything sensitive), rent the bursts on demand.
  const int64_t sensitive = static_cast<int64_t>(
      std::ceil(w.sensitive_share * static_cast<double>(s.peak_replicas) - 1e-9));
  const int64_t base = std::max(s.min_replicas, sensitive);
  if (base >= s.peak_replicas) {
    t.options.push_back(
        unavailable(CostKind::kHybrid, "no burst to move: the owned base already covers the peak"));
  } else {
    CostOption h = owned(cat, w, d, n, base, CostKind::kHybrid);
    int64_t burst_hours = 0;
    for (int64_t r : s.replicas_by_hour) burst_hours += std::max<int64_t>(0, r - base) * n * 365;
    const std::optional<Decimal> od =
        d.cloud ? cat.in(d.cloud->on_demand_per_hour, cur) : std::nullopt;
    if (!h.available || !od) {
      t.options.push_back(
          unavailable(CostKind::kHybrid, d.id + " lacks a purchase or on-demand price"));
    } else {
      h.lines.push_back({"cloud bursts", od->scaled(burst_hours, 12),
                         std::to_string(burst_hours) + " device-hours a year above the owned " +
                             std::to_string(base) + " replica(s) / 12 x " + od->exact_string() +
                             "/h"});
      finish(h, w.months);
      h.note = std::to_string(base) + " replica(s) owned, " +
               std::to_string(s.peak_replicas - base) + " rented at peak";
      t.options.push_back(h);
    }
  }

  const CloudPrices none;
  const CloudPrices& cp = d.cloud ? *d.cloud : none;
  t.options.push_back(cloud_hours(CostKind::kOnDemand, cp.on_demand_per_hour, cat, w, d,
                                  u.device_hours_per_year, "on-demand"));
  if (t.options.back().available) t.options.back().note = "autoscaled to each hour's replicas";
  t.options.push_back(cloud_hours(CostKind::kReserved, cp.reserved_per_hour, cat, w, d,
                                  s.peak_replicas * n * 8760, "reserved"));
  if (t.options.back().available) t.options.back().note = "peak replicas reserved around the clock";
  {
    CostOption spot =
        cloud_hours(CostKind::kSpot, cp.spot_per_hour, cat, w, d, u.device_hours_per_year, "spot");
    if (spot.available) {
      const Decimal pct = cat.site.spot_interruption_overhead_pct;
      spot.lines.push_back({"interruption overhead",
                            spot.lines[0].monthly.times(pct).divided_by(100),
                            pct.exact_string() + " % more device-hours to ride out preemptions"});
      finish(spot, w.months);
      spot.note = "autoscaled; not for latency-critical traffic without on-demand fallback";
    }
    t.options.push_back(spot);
  }
  {
    const std::optional<Decimal> ps =
        d.cloud ? cat.in(cp.serverless_per_second, cur) : std::nullopt;
    if (!ps) {
      t.options.push_back(
          unavailable(CostKind::kServerless, d.id + " has no serverless price in the catalogue"));
    } else {
      CostOption o;
      o.kind = CostKind::kServerless;
      const int64_t billed = u.requests_per_month * u.serverless_steps_per_request * n;
      o.lines.push_back({"serverless", ps->times(billed).divided_by(10),
                         std::to_string(u.requests_per_month) + " requests x " +
                             std::to_string(u.serverless_steps_per_request) + " x 100 ms x " +
                             std::to_string(n) + " device(s) x " + ps->exact_string() + "/s"});
      finish(o, w.months);
      o.note = "billed per request in 100 ms steps of replica time at the modelled batch";
      t.options.push_back(o);
    }
  }
  if (!saas) {
    t.options.push_back(unavailable(CostKind::kSaas, "no SaaS offer serves this model"));
  } else {
    CostOption o;
    o.kind = CostKind::kSaas;
    const Decimal in = cat.in(saas->input_per_million, cur).value_or(Decimal());
    const Decimal cached = cat.in(saas->cached_input_per_million, cur).value_or(in);
    const Decimal out = cat.in(saas->output_per_million, cur).value_or(Decimal());
    const int64_t uncached = u.input_tokens_per_month - u.cached_input_tokens_per_month;
    o.lines.push_back({"input tokens", in.times(uncached).divided_by(1'000'000),
                       std::to_string(uncached) + " x " + in.exact_string() + " per 1M"});
    o.lines.push_back({"cached input tokens",
                       cached.times(u.cached_input_tokens_per_month).divided_by(1'000'000),
                       std::to_string(u.cached_input_tokens_per_month) + " x " +
                           cached.exact_string() + " per 1M"});
    o.lines.push_back(
        {"output tokens", out.times(u.output_tokens_per_month).divided_by(1'000'000),
         std::to_string(u.output_tokens_per_month) + " x " + out.exact_string() + " per 1M"});
    finish(o, w.months);
    o.note = saas->name;
    t.options.push_back(o);
  }
  const std::optional<Decimal> reserved =
      d.cloud ? cat.in(cp.reserved_per_hour, cur) : std::nullopt;
  const std::optional<Decimal> per_s =
      d.cloud ? cat.in(cp.serverless_per_second, cur) : std::nullopt;
  if (reserved && per_s && !per_s->is_zero())
    t.serverless_breakeven_utilisation = reserved->ratio_to(per_s->times(3600));
  return t;
}

}  // namespace fathom::plan
