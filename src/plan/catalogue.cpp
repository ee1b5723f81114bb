#include "plan/catalogue.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan/yaml_fields.h"

namespace fathom::plan {
namespace {

Provenance read_provenance(YamlFields& f) {
  Provenance p;
  p.source = f.text("source", true).value_or("");
  p.date = f.text("date", true).value_or("");
  const std::string& d = p.date;
  if (!d.empty() && (d.size() != 10 || d[4] != '-' || d[7] != '-' ||
                     d.find_first_not_of("0123456789-") != std::string::npos))
    f.problem("date", "must be YYYY-MM-DD, got '" + d + "'");
  return p;
}

Price read_price(YamlFields& parent, const char* key, bool required,
                 std::vector<std::string>& problems) {
  Price p;
  if (!parent.has(key)) {
    if (required) parent.problem(key, "is required");
    return p;
  }
  YamlFields f(parent.child(key), parent.path(key), problems, {"usd", "cny"});
  p.usd = f.decimal("usd");
  p.cny = f.decimal("cny");
  if (!p.given()) parent.problem(key, "needs usd or cny");
  return p;
}

Device read_device(const YAML::Node& n, const std::string& path,
                   std::vector<std::string>& problems) {
  YamlFields f(n, path, problems,
               {"id", "name", "kind", "memory_gib", "bandwidth_gbps", "bf16_tflops", "tdp_w",
                "max_per_node", "link_gbps", "bandwidth_efficiency", "compute_efficiency", "source",
                "date", "purchase", "cloud"});
  Device d;
  d.id = f.text("id", true).value_or("");
  d.name = f.text("name", true).value_or(d.id);
  const std::string kind = f.choice("kind", {"gpu", "npu", "cpu", "edge"}).value_or("gpu");
  d.kind = kind == "npu"    ? DeviceKind::kNpu
           : kind == "cpu"  ? DeviceKind::kCpu
           : kind == "edge" ? DeviceKind::kEdge
                            : DeviceKind::kGpu;
  d.memory_gib = f.number("memory_gib", true, 0.1, 1e6).value_or(1);
  d.bandwidth_gbps = f.number("bandwidth_gbps", true, 0.1, 1e6).value_or(1);
  d.bf16_tflops = f.number("bf16_tflops", true, 0.001, 1e6).value_or(1);
  d.tdp_w = f.integer("tdp_w", true, 1, 1'000'000).value_or(1);
  d.max_per_node = f.integer("max_per_node", false, 1, 64).value_or(1);
  d.link_gbps = f.number("link_gbps", false, 0, 1e6).value_or(0);
  d.bandwidth_efficiency = f.number("bandwidth_efficiency", false, 0.01, 1).value_or(0.75);
  d.compute_efficiency = f.number("compute_efficiency", false, 0.01, 1).value_or(0.5);
  d.provenance = read_provenance(f);
  if (f.has("purchase")) {
    YamlFields p(f.child("purchase"), f.path("purchase"), problems,
                 {"device", "node", "node_power_w", "source", "date"});
    d.purchase = read_price(p, "device", true, problems);
    d.node_price = read_price(p, "node", false, problems);
    d.node_power_w = p.integer("node_power_w", false, 0, 1'000'000).value_or(0);
    d.purchase_provenance = read_provenance(p);
  }
  if (f.has("cloud")) {
    YamlFields c(f.child("cloud"), f.path("cloud"), problems,
                 {"on_demand_per_hour", "reserved_per_hour", "spot_per_hour",
                  "serverless_per_second", "source", "date"});
    CloudPrices cp;
    cp.on_demand_per_hour = read_price(c, "on_demand_per_hour", true, problems);
    cp.reserved_per_hour = read_price(c, "reserved_per_hour", false, problems);
    cp.spot_per_hour = read_price(c, "spot_per_hour", false, problems);
    cp.serverless_per_second = read_price(c, "serverless_per_second", false, problems);
    cp.provenance = read_provenance(c);
    d.cloud = cp;
  }
  return d;
}

SiteCosts read_site(const YAML::Node& n, std::vector<std::string>& problems) {
  YamlFields f(n, "site", problems,
               {"electricity_per_kwh", "pue", "rack_per_month", "nodes_per_rack",
                "ops_staff_per_month", "ops_fte_per_node", "maintenance_pct_per_year",
                "spot_interruption_overhead_pct", "source", "date"});
  if (!n.IsDefined() || n.IsNull()) problems.push_back("site: is required");
  SiteCosts s;
  s.electricity_per_kwh = read_price(f, "electricity_per_kwh", true, problems);
  s.pue = f.decimal("pue", true, Decimal::from_int(1), Decimal::from_int(5))
              .value_or(Decimal::from_int(1));
  s.rack_per_month = read_price(f, "rack_per_month", true, problems);
  s.nodes_per_rack = f.integer("nodes_per_rack", false, 1, 1000).value_or(4);
  s.ops_staff_per_month = read_price(f, "ops_staff_per_month", true, problems);
  s.ops_fte_per_node =
      f.decimal("ops_fte_per_node", true, Decimal(), Decimal::from_int(10)).value_or(Decimal());
  s.maintenance_pct_per_year =
      f.decimal("maintenance_pct_per_year", true, Decimal(), Decimal::from_int(100))
          .value_or(Decimal());
  s.spot_interruption_overhead_pct =
      f.decimal("spot_interruption_overhead_pct", true, Decimal(), Decimal::from_int(1000))
          .value_or(Decimal());
  s.provenance = read_provenance(f);
  return s;
}

SaasOffer read_offer(const YAML::Node& n, const std::string& path,
                     std::vector<std::string>& problems) {
  YamlFields f(n, path, problems,
               {"id", "name", "input_per_million", "cached_input_per_million", "output_per_million",
                "source", "date"});
  SaasOffer o;
  o.id = f.text("id", true).value_or("");
  o.name = f.text("name").value_or(o.id);
  o.input_per_million = read_price(f, "input_per_million", true, problems);
  o.cached_input_per_million = read_price(f, "cached_input_per_million", false, problems);
  if (!o.cached_input_per_million.given()) o.cached_input_per_million = o.input_per_million;
  o.output_per_million = read_price(f, "output_per_million", true, problems);
  o.provenance = read_provenance(f);
  return o;
}

Catalogue read_catalogue(const YAML::Node& root, std::vector<std::string>& problems) {
  YamlFields f(root, "", problems, {"version", "fx", "site", "devices", "saas"});
  if (f.integer("version", true, 1, 1).value_or(1) != 1) return {};
  Catalogue c;
  YamlFields fx(f.child("fx"), "fx", problems, {"usd_to_cny", "source", "date"});
  if (!f.has("fx")) f.problem("fx", "is required");
  c.usd_to_cny =
      fx.decimal("usd_to_cny", true, Decimal::from_nanos(1)).value_or(Decimal::from_int(7));
  c.fx_provenance = read_provenance(fx);
  c.site = read_site(f.child("site"), problems);
  const YAML::Node devices = f.child("devices");
  if (!devices.IsSequence() || devices.size() == 0)
    f.problem("devices", "must be a non-empty list");
  else
    for (size_t i = 0; i < devices.size(); ++i) {
      c.devices.push_back(read_device(devices[i], "devices[" + std::to_string(i) + "]", problems));
      for (size_t j = 0; j < i; ++j)
        if (c.devices[j].id == c.devices[i].id)
          problems.push_back("devices[" + std::to_string(i) + "].id: '" + c.devices[i].id +
                             "' is listed twice");
    }
  const YAML::Node saas = f.child("saas");
  if (f.has("saas") && !saas.IsSequence())
    f.problem("saas", "must be a list");
  else if (f.has("saas"))
    for (size_t i = 0; i < saas.size(); ++i)
      c.saas.push_back(read_offer(saas[i], "saas[" + std::to_string(i) + "]", problems));
  return c;
}

}  // namespace

const char* currency_name(Currency c) { return c == Currency::kUsd ? "USD" : "CNY"; }

Result<Currency> parse_currency(const std::string& text) {
  if (text == "USD" || text == "usd") return Currency::kUsd;
  if (text == "CNY" || text == "cny" || text == "RMB") return Currency::kCny;
  return invalid_argument("currency: expected USD or CNY, got '" + text + "'");
}

const char* device_kind_name(DeviceKind k) {
  switch (k) {
    case DeviceKind::kGpu:
      return "gpu";
    case DeviceKind::kNpu:
      return "npu";
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kEdge:
      return "edge";
  }
  return "?";
}

const Device* Catalogue::device(const std::string& id) const {
  for (const Device& d : devices)
    if (d.id == id) return &d;
  return nullptr;
}

const SaasOffer* Catalogue::offer(const std::string& id) const {
  for (const SaasOffer& o : saas)
    if (o.id == id) return &o;
  return nullptr;
}

std::optional<Decimal> Catalogue::in(const Price& p, Currency c) const {
  if (c == Currency::kUsd) {
    if (p.usd) return p.usd;
    if (p.cny)
      return Decimal::from_nanos(div_round(p.cny->nanos() * Decimal::kScale, usd_to_cny.nanos()));
  } else {
    if (p.cny) return p.cny;
    if (p.usd) return p.usd->times(usd_to_cny);
  }
  return std::nullopt;
}

Result<Catalogue> parse_catalogue(const std::string& yaml_text, const std::string& source) {
  return parse_yaml_document<Catalogue>(yaml_text, source, read_catalogue);
}

Result<Catalogue> load_catalogue(const std::string& path, const std::string& source_dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (!path.empty())
    candidates.emplace_back(path);
  else {
    if (const char* env = std::getenv("FATHOM_PLAN_CATALOGUE")) candidates.emplace_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back(exe.parent_path() / "../share/fathom/plan/catalogue.yaml");
      candidates.push_back(exe.parent_path() / "../../../data/plan/catalogue.yaml");
    }
    if (!source_dir.empty())
      candidates.push_back(fs::path(source_dir) / "data/plan/catalogue.yaml");
  }
  for (const fs::path& p : candidates) {
    std::ifstream in(p);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_catalogue(ss.str(), p.string());
  }
  return not_found(path.empty()
                       ? "no catalogue found (set --catalogue FILE or FATHOM_PLAN_CATALOGUE)"
                       : "--catalogue: cannot read " + path);
}

}  // namespace fathom::plan
