#include "plan/planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "model/model.h"

namespace fathom::plan {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Formats tried on an edge device, largest first.
constexpr const char* kEdgeFormats[] = {"bf16", "fp8",   "int8", "q6_k", "q5_k",
                                        "q4_k", "gptq4", "q3_k", "q2_k"};

std::vector<Candidate> candidates_for(const PlanInputs& in) {
  std::vector<Device> devices;
  const Workload& w = in.workload;
  std::optional<Device> here;
  if (in.calibration) here = this_machine(*in.calibration);
  if (w.edge_device) {
    if (const Device* d = in.catalogue.device(*w.edge_device)) devices.push_back(*d);
  } else if (!w.devices.empty()) {
    for (const std::string& id : w.devices) {
      if (here && id == here->id)
        devices.push_back(*here);
      else if (const Device* d = in.catalogue.device(id))
        devices.push_back(*d);
    }
  } else {
    for (const Device& d : in.catalogue.devices)
      if (d.kind != DeviceKind::kEdge) devices.push_back(d);
  }
  std::vector<Candidate> out;
  for (Device& d : devices) {
    Efficiency eff{d.bandwidth_efficiency, d.compute_efficiency};
    // A calibration of this machine's CPU stands for every CPU server in the catalogue.
    if (in.calibration && d.kind == DeviceKind::kCpu) eff = in.calibration->efficiency;
    out.push_back({std::move(d), eff, {}, std::nullopt});
  }
  return out;
}

Status check_devices(const PlanInputs& in) {
  const Workload& w = in.workload;
  if (w.edge_device && !in.catalogue.device(*w.edge_device))
    return invalid_argument("site.edge_device: '" + *w.edge_device + "' is not in the catalogue");
  if (w.edge_device && in.catalogue.device(*w.edge_device)->kind != DeviceKind::kEdge)
    return invalid_argument("site.edge_device: '" + *w.edge_device +
                            "' is not an edge device (kind " +
                            device_kind_name(in.catalogue.device(*w.edge_device)->kind) + ")");
  for (const std::string& id : w.devices)
    if (!in.catalogue.device(id) && !(id == "this-machine" && in.calibration))
      return invalid_argument("devices: '" + id + "' is not in the catalogue" +
                              (id == "this-machine" ? " (run 'fathom plan calibrate' first)" : ""));
  return ok_status();
}

// Fits the model on the edge device: the largest format, from the requested one down, whose
// weights and one full-context sequence fit its memory and that meets the latency targets there.
// When memory allows some format but none meets the targets, the largest that fits is kept.
EdgeFit fit_edge(const PlanInputs& in, const WeightFormat& requested, KvDtype kv,
                 const Candidate& edge, WeightFormat& chosen) {
  EdgeFit fit;
  const Device& d = edge.device;
  fit.device_id = d.id;
  fit.requested_format = requested.name();
  bool started = false;
  const model::ModelConfig& c = in.model.config;
  const int64_t context =
      std::min<int64_t>(in.workload.prompt.p95 + in.workload.output.p95, c.max_position_embeddings);
  for (const char* name : kEdgeFormats) {
    const WeightFormat f = *WeightFormat::parse(name);
    if (f.name() == requested.name()) started = true;
    if (!started) continue;
    const ModelCosts m{weight_footprint(c, f), kv_bytes_per_token(c, kv), &c};
    const MemoryBreakdown mb = replica_memory(m, d, 1, context, 1);
    const bool fits = mb.total_bytes <= mb.capacity_bytes;
    char line[200];
    std::snprintf(
        line, sizeof(line),
        "%s: %.2f GiB (weights %.2f + one %lld-token sequence %.2f + runtime) %s %.2f GiB usable",
        name, static_cast<double>(mb.total_bytes) / kGiB,
        static_cast<double>(mb.weights_bytes) / kGiB, static_cast<long long>(context),
        static_cast<double>(mb.kv_bytes) / kGiB, fits ? "<=" : ">",
        static_cast<double>(mb.capacity_bytes) / kGiB);
    std::string tried = line;
    if (fits) {
      const Sizing s = size_deployment(m, in.workload, d, edge.efficiency);
      if (!fit.fitting_format) {
        fit.fitting_format = name;
        chosen = f;
      }
      if (s.feasible) {
        fit.fitting_format = name;
        fit.meets_targets = true;
        chosen = f;
        fit.tried.push_back(tried + "; meets the latency targets");
        return fit;
      }
      tried += "; but " + s.why_not;
    }
    fit.tried.push_back(tried);
  }
  if (!started)
    fit.tried.push_back(requested.name() + " is already smaller than the formats tried");
  return fit;
}

enum class PriceGroup { kHardware, kElectricity, kSaas };

// The catalogue with one group of prices multiplied by num / den (exactly, rounded once).
Catalogue scaled_prices(Catalogue c, int64_t num, int64_t den, PriceGroup group) {
  const auto scale = [&](Price& p) {
    if (p.usd) p.usd = p.usd->scaled(num, den);
    if (p.cny) p.cny = p.cny->scaled(num, den);
  };
  switch (group) {
    case PriceGroup::kHardware:
      for (Device& d : c.devices) {
        scale(d.purchase);
        scale(d.node_price);
        if (!d.cloud) continue;
        scale(d.cloud->on_demand_per_hour);
        scale(d.cloud->reserved_per_hour);
        scale(d.cloud->spot_per_hour);
        scale(d.cloud->serverless_per_second);
      }
      break;
    case PriceGroup::kElectricity:
      scale(c.site.electricity_per_kwh);
      break;
    case PriceGroup::kSaas:
      for (SaasOffer& o : c.saas) {
        scale(o.input_per_million);
        scale(o.cached_input_per_million);
        scale(o.output_per_million);
      }
      break;
  }
  return c;
}

std::vector<SensitivityRow> sensitivity(const PlanInputs& in) {
  const auto traffic = [&](double f) {
    PlanInputs out = in;
    out.workload.requests_per_s *= f;
    return out;
  };
  const auto prices = [&](int64_t num, int64_t den, PriceGroup g) {
    PlanInputs out = in;
    out.catalogue = scaled_prices(in.catalogue, num, den, g);
    return out;
  };
  const std::vector<std::pair<const char*, PlanInputs>> scenarios = {
      {"as planned", in},
      {"traffic x 0.5", traffic(0.5)},
      {"traffic x 2", traffic(2.0)},
      {"traffic x 10", traffic(10.0)},
      {"hardware and cloud prices x 0.7", prices(7, 10, PriceGroup::kHardware)},
      {"hardware and cloud prices x 1.3", prices(13, 10, PriceGroup::kHardware)},
      {"electricity x 2", prices(2, 1, PriceGroup::kElectricity)},
      {"SaaS prices x 0.5", prices(1, 2, PriceGroup::kSaas)},
      {"SaaS prices x 2", prices(2, 1, PriceGroup::kSaas)},
  };
  std::vector<SensitivityRow> rows;
  for (const auto& [name, inputs] : scenarios) {
    Result<Plan> p = make_plan(inputs, false);
    SensitivityRow r;
    r.scenario = name;
    if (!p.ok() || !p->choice()) {
      r.mode = "none fits";
      rows.push_back(r);
      continue;
    }
    const Tco& t = *p->choice()->tco;
    r.device_id = p->choice()->device.id;
    r.mode = mode_name(p->decision.mode);
    if (const CostOption* c = t.cheapest()) {
      r.cheapest_option = cost_kind_name(c->kind);
      r.cheapest_total = c->total;
    }
    r.mode_total = t.option(p->decision.billing).total;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

Result<Plan> make_plan(const PlanInputs& in, bool with_sensitivity) {
  FATHOM_RETURN_IF_ERROR(check_devices(in));
  Plan p;
  p.model = in.model;
  p.workload = in.workload;
  const Workload& w = in.workload;
  const model::ModelConfig& c = in.model.config;
  p.format = in.model.native_format;
  if (w.weights) {
    FATHOM_ASSIGN_OR_RETURN(p.format, WeightFormat::parse(*w.weights));
  }
  std::vector<Candidate> cands = candidates_for(in);
  const bool all_cpu =
      !cands.empty() && std::all_of(cands.begin(), cands.end(), [](const Candidate& k) {
        return k.device.kind == DeviceKind::kCpu;
      });
  // On CPUs, what `fathom serve --kv-cache-dtype auto` picks for this checkpoint.
  p.kv_dtype = all_cpu ? model::auto_kv_cache_dtype(c) : KvDtype::kBf16;
  if (w.kv_dtype) {
    FATHOM_ASSIGN_OR_RETURN(p.kv_dtype, parse_kv_dtype(*w.kv_dtype));
  }
  if (w.edge_device) p.edge = fit_edge(in, p.format, p.kv_dtype, cands.front(), p.format);
  p.weights = weight_footprint(c, p.format);
  p.kv_bytes_per_token = kv_bytes_per_token(c, p.kv_dtype);
  const ModelCosts costs{p.weights, p.kv_bytes_per_token, &p.model.config};
  const SaasOffer* saas =
      in.model.saas_offer.empty() ? nullptr : in.catalogue.offer(in.model.saas_offer);
  std::optional<Decimal> best;
  int64_t first_feasible = -1;
  for (size_t i = 0; i < cands.size(); ++i) {
    Candidate& k = cands[i];
    k.sizing = size_deployment(costs, w, k.device, k.efficiency);
    if (!k.sizing.feasible) continue;
    if (first_feasible < 0) first_feasible = static_cast<int64_t>(i);
    k.tco = compute_tco(in.catalogue, w, k.device, k.sizing, saas);
    // Devices are ranked by their cheapest way to run the sizing (SaaS runs on none of them).
    const CostOption* self_run = k.tco->cheapest_self_run();
    if (self_run && (!best || self_run->total < *best)) {
      best = self_run->total;
      p.chosen = static_cast<int64_t>(i);
    }
  }
  // A device with no prices at all (this machine) is still a plan, just not a costed one.
  if (p.chosen < 0) p.chosen = first_feasible;
  p.candidates = std::move(cands);
  if (const Candidate* ch = p.choice())
    p.decision = decide(w, ch->sizing, *ch->tco, p.edge);
  else if (p.edge)
    p.decision = decide(w, Sizing{}, Tco{}, p.edge);
  if (with_sensitivity && p.choice()) p.sensitivity = sensitivity(in);
  return p;
}

}  // namespace fathom::plan
