#include "gateway/security/zone_audit.h"

#include <map>

namespace fathom::gateway {
namespace {

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "pool/host:port" -> the pool's zone in the config; "" for an upstream of no configured pool.
std::string pool_zone(const std::string& upstream, const GatewayConfig& cfg) {
  const auto it = cfg.pools.find(upstream.substr(0, upstream.find('/')));
  return it == cfg.pools.end() ? "" : zone_name(it->second.zone);
}

}  // namespace

nlohmann::json sensitive_route_details(const SensitiveRoute& r, const std::string& key_id,
                                       const std::string& model,
                                       const classify::Classification& c) {
  nlohmann::json d = classify::describe(c);
  return {{"request_id", r.request_id},
          {"tenant", r.tenant},
          {"key_id", key_id},
          {"model", model},
          {"kinds", std::move(d["kinds"])},
          {"reasons", std::move(d["reasons"])},
          {"upstream", r.upstream},
          {"zone", r.zone},
          {"status", r.status},
          {"redacted", r.redacted}};
}

std::vector<SensitiveRoute> sensitive_routes(const std::vector<nlohmann::json>& records,
                                             const std::string& month) {
  std::vector<SensitiveRoute> out;
  for (const nlohmann::json& rec : records) {
    if (!rec.is_object() || text(rec, "event") != kSensitiveRouteEvent) continue;
    SensitiveRoute r;
    r.time = text(rec, "time");
    if (r.time.rfind(month, 0) != 0) continue;
    r.seq = rec.value("seq", int64_t{0});
    const nlohmann::json d = rec.value("details", nlohmann::json::object());
    if (!d.is_object()) continue;
    r.request_id = text(d, "request_id");
    r.tenant = text(d, "tenant");
    r.upstream = text(d, "upstream");
    r.zone = text(d, "zone");
    auto status = d.find("status");
    r.status = status != d.end() && status->is_number_integer() ? status->get<int>() : 0;
    auto redacted = d.find("redacted");
    r.redacted = redacted != d.end() && redacted->is_boolean() && redacted->get<bool>();
    out.push_back(std::move(r));
  }
  return out;
}

ZoneReport check_zones(const std::vector<SensitiveRoute>& routes,
                       const std::vector<UsageRecord>& ledger, const GatewayConfig& cfg) {
  std::map<std::string, const UsageRecord*> by_id;
  for (const UsageRecord& row : ledger) by_id[row.request_id] = &row;
  ZoneReport report;
  for (const SensitiveRoute& r : routes) {
    ++report.sensitive;
    const std::string who = "audit record " + std::to_string(r.seq) + " (request " +
                            (r.request_id.empty() ? std::string("from the cache") : r.request_id) +
                            ")";
    if (r.redacted) {  // only placeholders left the premises, whichever zone served it
      ++report.redacted;
      continue;
    }
    if (r.zone == "cloud") {
      report.violations.push_back(who + ": served in the cloud zone by " + r.upstream);
      continue;
    }
    if (r.upstream == "cache") {
      ++report.from_cache;
      continue;
    }
    if (r.upstream.empty()) {
      ++report.not_served;
      continue;
    }
    if (pool_zone(r.upstream, cfg) == "cloud") {
      report.violations.push_back(who + ": upstream " + r.upstream +
                                  " belongs to a cloud pool in the config");
      continue;
    }
    const auto row = by_id.find(r.request_id);
    if (row == by_id.end()) {
      ++report.unmatched;
      continue;
    }
    const std::string& billed = row->second->upstream;
    if (billed != r.upstream) {
      report.violations.push_back(who + ": the ledger says upstream " + billed +
                                  " served it, the audit log " + r.upstream +
                                  (pool_zone(billed, cfg) == "cloud" ? " (a cloud pool)" : ""));
      continue;
    }
    ++report.on_prem;
  }
  return report;
}

}  // namespace fathom::gateway
