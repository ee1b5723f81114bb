#include "plan/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fathom::plan {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string gib(int64_t bytes) { return fmt("%.2f GiB", static_cast<double>(bytes) / kGiB); }

std::string params(int64_t n) {
  return n >= 1'000'000'000 ? fmt("%.1fB", n / 1e9) : fmt("%.1fM", n / 1e6);
}

nlohmann::json money_json(const Decimal& d) { return d.to_string(2); }

void text_costs(std::ostringstream& o, const Tco& t) {
  const char* cur = currency_name(t.currency);
  o << "\nCosts over " << t.months << " months (" << cur
    << "; exact decimals, shown rounded to cents):\n";
  for (const CostOption& c : t.options) {
    char line[256];
    if (!c.available) {
      std::snprintf(line, sizeof(line), "  %-16s  n/a: %s\n", cost_kind_name(c.kind),
                    c.note.c_str());
      o << line;
      continue;
    }
    std::snprintf(line, sizeof(line), "  %-16s  total %16s  capex %14s  monthly %14s  %s\n",
                  cost_kind_name(c.kind), c.total.to_string().c_str(), c.capex.to_string().c_str(),
                  c.monthly.to_string().c_str(), c.note.c_str());
    o << line;
    for (const CostLine& l : c.lines)
      o << "      " << l.item << ": " << l.monthly.to_string()
        << (l.item == "capex" ? " once" : " a month") << " (" << l.basis << ")\n";
  }
  o << "\nBreak-even of owning against:\n";
  for (CostKind k : {CostKind::kOnDemand, CostKind::kReserved, CostKind::kSpot,
                     CostKind::kServerless, CostKind::kSaas}) {
    if (!t.option(k).available || !t.option(CostKind::kOwned).available) continue;
    const std::optional<int64_t> m = t.breakeven_month(k);
    o << "  " << cost_kind_name(k) << ": "
      << (m ? "month " + std::to_string(*m) : "not within " + std::to_string(t.months) + " months")
      << "\n";
  }
  if (t.serverless_breakeven_utilisation)
    o << "  serverless vs reserved: serverless is cheaper below "
      << fmt("%.1f", *t.serverless_breakeven_utilisation * 100) << " % utilisation\n";
}

}  // namespace

std::string render_text(const Plan& p) {
  std::ostringstream o;
  const model::ModelConfig& c = p.model.config;
  o << "fathom plan: " << p.model.name << " (" << c.architecture << ")\n\n";
  o << "Model: " << params(p.weights.total_params) << " parameters, "
    << params(p.weights.active_params) << " active per token; weights " << p.format.name() << " = "
    << gib(p.weights.total_bytes) << "\n";
  o << "KV cache: " << p.kv_bytes_per_token << " bytes per token (" << kv_dtype_name(p.kv_dtype)
    << ", "
    << (c.family == model::ArchFamily::kDeepseek
            ? "MLA latent " + std::to_string(c.mla.kv_lora_rank) + " + rope " +
                  std::to_string(c.mla.qk_rope_head_dim)
            : std::to_string(c.num_kv_heads) + " KV heads x " + std::to_string(c.head_dim) +
                  " x K,V")
    << " x " << c.num_layers << " layers)\n";
  const Workload& w = p.workload;
  o << "Workload: " << fmt("%.3g", w.requests_per_s) << " requests/s on average (peak hour x"
    << fmt("%.2f", w.peak_factor()) << "), prompts " << w.prompt.mean << " (p95 " << w.prompt.p95
    << ") tokens, outputs " << w.output.mean << " (p95 " << w.output.p95 << "), targets TTFT "
    << fmt("%.0f", w.ttft_ms) << " ms / TPOT " << fmt("%.0f", w.tpot_ms) << " ms (p95)\n";

  o << "\nDecision: " << mode_name(p.decision.mode) << "\n";
  for (const std::string& r : p.decision.reasons) o << "  - " << r << "\n";

  o << "\nDevices considered:\n";
  for (const Candidate& k : p.candidates) {
    const Sizing& s = k.sizing;
    if (!s.feasible) {
      o << "  " << k.device.id << ": does not fit: " << s.why_not << "\n";
      continue;
    }
    o << "  " << k.device.id << ": " << s.peak_replicas << " replica(s) x " << s.devices_per_replica
      << " device(s)";
    if (s.devices_per_replica > 1)
      o << " (TP " << s.tensor_parallel
        << (s.expert_parallel > 1 ? ", EP " + std::to_string(s.expert_parallel) : "") << ")";
    o << ", batch " << s.batch << ", TPOT " << fmt("%.1f", s.tpot_s * 1000) << " ms, TTFT p95 "
      << fmt("%.0f", s.ttft_s * 1000) << " ms";
    if (const CostOption* ch = k.tco->cheapest_self_run())
      o << ", cheapest " << cost_kind_name(ch->kind) << " " << ch->total.to_string(0);
    o << (p.choice() == &k ? "   <- chosen" : "") << "\n";
  }
  const Candidate* ch = p.choice();
  if (!ch) {
    o << "\nNo device in the catalogue fits this model and these targets.\n";
    return o.str();
  }
  const Sizing& s = ch->sizing;
  const MemoryBreakdown& m = s.memory;
  o << "\nSizing on " << ch->device.name << " (efficiency: bandwidth "
    << fmt("%.2f", ch->efficiency.bandwidth) << ", compute " << fmt("%.2f", ch->efficiency.compute)
    << "):\n";
  o << "  per replica: " << s.devices_per_replica << " device(s); memory " << gib(m.total_bytes)
    << " of " << gib(m.capacity_bytes) << " usable = weights " << gib(m.weights_bytes) << " + KV "
    << gib(m.kv_bytes) << " (" << s.max_sequences << " sequences x " << s.context_tokens
    << " tokens x " << m.kv_bytes_per_token << " B"
    << (m.kv_bytes_per_sequence != m.kv_bytes_per_token * s.context_tokens
            ? ", replicated per TP rank"
            : "")
    << ") + activations " << gib(m.activation_bytes) << " + runtime " << gib(m.runtime_bytes)
    << "\n";
  o << "  decode: " << fmt("%.1f", s.decode_tokens_per_s_batch1) << " tokens/s at batch 1; batch "
    << s.batch << " -> " << fmt("%.0f", s.replica_tokens_per_s) << " tokens/s, TPOT "
    << fmt("%.1f", s.tpot_s * 1000) << " ms; TTFT p95 " << fmt("%.0f", s.ttft_s * 1000) << " ms\n";
  o << "  capacity " << fmt("%.3g", s.replica_requests_per_s)
    << " requests/s per replica; replicas per hour:";
  for (int64_t r : s.replicas_by_hour) o << " " << r;
  o << "\n  peak " << s.peak_replicas << " replica(s) (" << s.peak_replicas * s.devices_per_replica
    << " devices, " << fmt("%.1f", s.power_kw) << " kW TDP), utilisation "
    << fmt("%.0f", s.utilisation * 100) << " %\n";
  text_costs(o, *ch->tco);
  if (!p.sensitivity.empty()) {
    o << "\nSensitivity (" << p.workload.months << "-month totals):\n";
    char line[256];
    std::snprintf(line, sizeof(line), "  %-34s %-14s %-15s %-16s %16s %16s\n", "scenario", "device",
                  "mode", "cheapest", "cheapest total", "mode total");
    o << line;
    for (const SensitivityRow& r : p.sensitivity) {
      std::snprintf(line, sizeof(line), "  %-34s %-14s %-15s %-16s %16s %16s\n", r.scenario.c_str(),
                    r.device_id.c_str(), r.mode.c_str(), r.cheapest_option.c_str(),
                    r.cheapest_total.to_string(0).c_str(), r.mode_total.to_string(0).c_str());
      o << line;
    }
  }
  return o.str();
}

std::string render_json(const Plan& p) {
  using nlohmann::json;
  json j;
  const model::ModelConfig& c = p.model.config;
  j["model"] = {{"name", p.model.name},
                {"architecture", c.architecture},
                {"total_params", p.weights.total_params},
                {"active_params", p.weights.active_params},
                {"weight_format", p.format.name()},
                {"weights_bytes", p.weights.total_bytes},
                {"kv_dtype", kv_dtype_name(p.kv_dtype)},
                {"kv_bytes_per_token", p.kv_bytes_per_token}};
  j["decision"] = {{"mode", mode_name(p.decision.mode)},
                   {"billing", cost_kind_name(p.decision.billing)},
                   {"overlay", p.decision.overlay},
                   {"within_budget", p.decision.within_budget},
                   {"reasons", p.decision.reasons}};
  if (p.edge)
    j["edge"] = {
        {"device", p.edge->device_id},
        {"fitting_format", p.edge->fitting_format ? json(*p.edge->fitting_format) : json()},
        {"tried", p.edge->tried}};
  j["candidates"] = json::array();
  for (const Candidate& k : p.candidates) {
    const Sizing& s = k.sizing;
    json cj = {{"device", k.device.id}, {"feasible", s.feasible}};
    if (!s.feasible)
      cj["why_not"] = s.why_not;
    else {
      const MemoryBreakdown& m = s.memory;
      cj["sizing"] = {{"devices_per_replica", s.devices_per_replica},
                      {"tensor_parallel", s.tensor_parallel},
                      {"expert_parallel", s.expert_parallel},
                      {"context_tokens", s.context_tokens},
                      {"max_sequences", s.max_sequences},
                      {"batch", s.batch},
                      {"tpot_ms", s.tpot_s * 1000},
                      {"ttft_ms", s.ttft_s * 1000},
                      {"decode_tokens_per_s_batch1", s.decode_tokens_per_s_batch1},
                      {"replica_tokens_per_s", s.replica_tokens_per_s},
                      {"replica_requests_per_s", s.replica_requests_per_s},
                      {"replicas_by_hour", s.replicas_by_hour},
                      {"peak_replicas", s.peak_replicas},
                      {"utilisation", s.utilisation},
                      {"power_kw", s.power_kw},
                      {"efficiency",
                       {{"bandwidth", k.efficiency.bandwidth}, {"compute", k.efficiency.compute}}},
                      {"memory",
                       {{"weights_bytes", m.weights_bytes},
                        {"kv_bytes_per_token", m.kv_bytes_per_token},
                        {"kv_bytes_per_sequence", m.kv_bytes_per_sequence},
                        {"kv_bytes", m.kv_bytes},
                        {"activation_bytes", m.activation_bytes},
                        {"runtime_bytes", m.runtime_bytes},
                        {"total_bytes", m.total_bytes},
                        {"capacity_bytes", m.capacity_bytes}}}};
      const Tco& t = *k.tco;
      json opts = json::array();
      for (const CostOption& o : t.options) {
        json oj = {
            {"option", cost_kind_name(o.kind)}, {"available", o.available}, {"note", o.note}};
        if (o.available) {
          oj["total"] = money_json(o.total);
          oj["capex"] = money_json(o.capex);
          oj["monthly"] = money_json(o.monthly);
          json lines = json::array();
          for (const CostLine& l : o.lines)
            lines.push_back(
                {{"item", l.item}, {"monthly", money_json(l.monthly)}, {"basis", l.basis}});
          oj["lines"] = lines;
          if (o.kind != CostKind::kOwned) {
            const std::optional<int64_t> be = t.breakeven_month(o.kind);
            oj["owned_breakeven_month"] = be ? json(*be) : json();
          }
        }
        opts.push_back(oj);
      }
      cj["costs"] = {{"currency", currency_name(t.currency)},
                     {"months", t.months},
                     {"options", opts},
                     {"requests_per_month", t.usage.requests_per_month},
                     {"serverless_breakeven_utilisation",
                      t.serverless_breakeven_utilisation ? json(*t.serverless_breakeven_utilisation)
                                                         : json()}};
    }
    cj["chosen"] = p.choice() == &k;
    j["candidates"].push_back(cj);
  }
  j["sensitivity"] = json::array();
  for (const SensitivityRow& r : p.sensitivity)
    j["sensitivity"].push_back({{"scenario", r.scenario},
                                {"device", r.device_id},
                                {"mode", r.mode},
                                {"cheapest_option", r.cheapest_option},
                                {"cheapest_total", money_json(r.cheapest_total)},
                                {"mode_total", money_json(r.mode_total)}});
  return j.dump(2) + "\n";
}

std::string render_cost_chart_svg(const Plan& p) {
  std::ostringstream o;
  const Candidate* ch = p.choice();
  const int width = 900, height = 520, left = 110, right = 200, top = 50, bottom = 60;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!ch) {
    o << "<text x=\"20\" y=\"40\">no device fits; nothing to chart</text>\n</svg>\n";
    return o.str();
  }
  const Tco& t = *ch->tco;
  Decimal max_total;
  for (const CostOption& c : t.options)
    if (c.available && c.total > max_total) max_total = c.total;
  const double ymax = max_total.to_double() > 0 ? max_total.to_double() * 1.05 : 1.0;
  const double pw = width - left - right, ph = height - top - bottom;
  const auto x_of = [&](double month) { return left + pw * month / static_cast<double>(t.months); };
  const auto y_of = [&](double v) { return top + ph * (1.0 - v / ymax); };
  o << "<text x=\"" << left << "\" y=\"25\" font-size=\"15\">Cumulative cost, " << p.model.name
    << " on " << ch->device.id << " (" << currency_name(t.currency) << ")</text>\n";
  o << "<line x1=\"" << left << "\" y1=\"" << top + ph << "\" x2=\"" << left + pw << "\" y2=\""
    << top + ph << "\" stroke=\"black\"/>\n";
  o << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + ph
    << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 5; ++i) {
    const double v = ymax * i / 5;
    o << "<text x=\"" << left - 8 << "\" y=\"" << y_of(v) + 4 << "\" text-anchor=\"end\">"
      << fmt("%.0f", v) << "</text>\n";
    o << "<line x1=\"" << left << "\" y1=\"" << y_of(v) << "\" x2=\"" << left + pw << "\" y2=\""
      << y_of(v) << "\" stroke=\"#ddd\"/>\n";
  }
  for (int64_t m = 0; m <= t.months; m += 6)
    o << "<text x=\"" << x_of(static_cast<double>(m)) << "\" y=\"" << top + ph + 18
      << "\" text-anchor=\"middle\">" << m << "</text>\n";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << height - 15
    << "\" text-anchor=\"middle\">month</text>\n";
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                  "#9467bd", "#8c564b", "#e377c2"};
  int legend_y = top + 10;
  for (const CostOption& c : t.options) {
    const char* color = kColors[static_cast<size_t>(c.kind) % 7];
    if (!c.available) continue;
    o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\""
      << x_of(0) << "," << y_of(c.capex.to_double());
    for (size_t m = 0; m < c.cumulative.size(); ++m)
      o << " " << x_of(static_cast<double>(m + 1)) << "," << y_of(c.cumulative[m].to_double());
    o << "\"><title>" << cost_kind_name(c.kind) << ": " << c.total.to_string()
      << "</title></polyline>\n";
    o << "<rect x=\"" << left + pw + 15 << "\" y=\"" << legend_y - 9
      << "\" width=\"12\" height=\"12\" fill=\"" << color << "\"/>\n";
    o << "<text x=\"" << left + pw + 32 << "\" y=\"" << legend_y + 1 << "\">"
      << cost_kind_name(c.kind) << " " << c.total.to_string(0) << "</text>\n";
    legend_y += 20;
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace fathom::plan
