// The hardware and price catalogue (data/plan/catalogue.yaml): accelerators and CPU servers
// with memory, bandwidth, FLOP/s, power and prices; site running costs; SaaS per-token prices;
// the exchange rate. Every priced or measured entry carries `source` and `date`; the parser
// refuses entries without them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/decimal.h"

namespace fathom::plan {

enum class Currency { kUsd, kCny };
const char* currency_name(Currency c);
Result<Currency> parse_currency(const std::string& text);

/// An amount given in USD, CNY or both; `in()` converts through the catalogue's rate when the
/// asked currency is missing.
struct Price {
  std::optional<Decimal> usd, cny;
  bool given() const { return usd || cny; }
};

struct Provenance {
  std::string source;  ///< URL or document
  std::string date;    ///< YYYY-MM-DD the number was read
};

enum class DeviceKind { kGpu, kNpu, kCpu, kEdge };
const char* device_kind_name(DeviceKind k);

struct CloudPrices {
  Price on_demand_per_hour, reserved_per_hour, spot_per_hour, serverless_per_second;
  Provenance provenance;
};

struct Device {
  std::string id, name;
  DeviceKind kind = DeviceKind::kGpu;
  double memory_gib = 0;
  double bandwidth_gbps = 0;  ///< memory bandwidth, GB/s
  double bf16_tflops = 0;     ///< dense
  int64_t tdp_w = 0;
  int64_t max_per_node = 1;            ///< devices one server holds (NVLink domain)
  double link_gbps = 0;                ///< device-to-device bandwidth inside a node (0 = PCIe only)
  double bandwidth_efficiency = 0.75;  ///< default share of bandwidth a decode step reaches
  double compute_efficiency = 0.5;     ///< default share of FLOP/s a prefill reaches
  Provenance provenance;               ///< specs
  Price purchase;                      ///< one device
  Price node_price;          ///< the server around max_per_node devices (chassis, CPUs, NICs)
  int64_t node_power_w = 0;  ///< that server's own draw
  Provenance purchase_provenance;
  std::optional<CloudPrices> cloud;
};

struct SiteCosts {
  Price electricity_per_kwh;
  Decimal pue;  ///< facility power / IT power
  Price rack_per_month;
  int64_t nodes_per_rack = 4;
  Price ops_staff_per_month;         ///< one full-time operations engineer, fully loaded
  Decimal ops_fte_per_node;          ///< share of one engineer each server takes
  Decimal maintenance_pct_per_year;  ///< support contracts and spares, % of capex a year
  Decimal
      spot_interruption_overhead_pct;  ///< extra device-hours spot needs to ride out preemptions
  Provenance provenance;
};

struct SaasOffer {
  std::string id, name;
  Price input_per_million, cached_input_per_million, output_per_million;
  Provenance provenance;
};

struct Catalogue {
  Decimal usd_to_cny;  ///< CNY per USD
  Provenance fx_provenance;
  SiteCosts site;
  std::vector<Device> devices;
  std::vector<SaasOffer> saas;

  const Device* device(const std::string& id) const;
  const SaasOffer* offer(const std::string& id) const;
  /// The amount in `c`; converted through usd_to_cny when only the other currency is given.
  /// Not given at all: nullopt.
  std::optional<Decimal> in(const Price& p, Currency c) const;
};

/// Parses a catalogue YAML text; every problem (field paths included) is reported at once.
Result<Catalogue> parse_catalogue(const std::string& yaml_text, const std::string& source);
/// Reads `path`, or with an empty path the installed catalogue (FATHOM_PLAN_CATALOGUE, then
/// data/plan/catalogue.yaml next to the binary or in the source tree).
Result<Catalogue> load_catalogue(const std::string& path, const std::string& source_dir);

}  // namespace fathom::plan
