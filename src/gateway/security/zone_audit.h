// `fathom audit zones`: the evidence that no sensitive request was served in a cloud zone,
// from the two records the gateway keeps independently — the hash-chained audit log (a
// route.sensitive record for each sensitive request: where it went) and the usage ledger
// (which upstream served each billed request) — read against the config's pool zones.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/billing/ledger.h"
#include "gateway/classify/classifier.h"
#include "gateway/config/gateway_config.h"

namespace fathom::gateway {

/// The audit event of a sensitive request's routing decision.
inline constexpr const char* kSensitiveRouteEvent = "route.sensitive";

/// One route.sensitive audit record (seq and time are the audit log's own).
struct SensitiveRoute {
  int64_t seq = 0;
  std::string time, request_id, tenant, upstream, zone;
  int status = 0;
  bool redacted = false;  ///< what left had its entities replaced (redact mode)
};

/// The details of a route.sensitive record, as the proxy and the response cache write it and
/// sensitive_routes() reads it back: the route, the key and model, and what fired (never the
/// matched text).
nlohmann::json sensitive_route_details(const SensitiveRoute& r, const std::string& key_id,
                                       const std::string& model, const classify::Classification& c);

struct ZoneReport {
  int64_t sensitive = 0;                ///< route.sensitive records in the month
  int64_t on_prem = 0;                  ///< served by an on-prem upstream, the ledger agreeing
  int64_t from_cache = 0;               ///< answered from an on-prem answer in the response cache
  int64_t not_served = 0;               ///< no upstream answered (refused, 503)
  int64_t redacted = 0;                 ///< sent with its entities replaced (redact mode)
  int64_t unmatched = 0;                ///< served, but the ledger has no row for it (yet)
  std::vector<std::string> violations;  ///< each names the record and the evidence
  bool ok() const { return violations.empty(); }
};

/// The route.sensitive records of `month` ("YYYY-MM") among verified audit records.
std::vector<SensitiveRoute> sensitive_routes(const std::vector<nlohmann::json>& records,
                                             const std::string& month);

/// Checks every sensitive route: its zone, its upstream's pool zone in `cfg`, and the ledger
/// row with its request id (same upstream, on-prem pool). A redacted request may have gone to
/// a cloud pool: what left held placeholders, not the entities.
ZoneReport check_zones(const std::vector<SensitiveRoute>& routes,
                       const std::vector<UsageRecord>& ledger, const GatewayConfig& cfg);

}  // namespace fathom::gateway
