// fathom billing report --config gateway.yaml --tenant T --month 2026-11 [--format csv|json]
// fathom billing verify --config gateway.yaml --month 2026-11   (data protection: row MACs)
// fathom audit verify FILE
// fathom audit zones --config gateway.yaml --month 2026-12
#include <cstdio>
#include <set>

#include "cli/args.h"
#include "gateway/billing/ledger.h"
#include "gateway/billing/report.h"
#include "gateway/config/gateway_config.h"
#include "gateway/security/audit_log.h"
#include "gateway/security/key_store.h"
#include "gateway/security/zone_audit.h"

namespace fathom::cli {
namespace {

Status check_month(const std::string& month) {
  if (month.size() != 7 || month[4] != '-')
    return invalid_argument("--month must look like 2026-11");
  return ok_status();
}

// Every ledger row of the month, of every tenant the key store knows, against its MAC. Exit
// status 1 when one is missing or does not match.
Status billing_verify(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv, {"config", "month"}, {}));
  FATHOM_ASSIGN_OR_RETURN(std::string path, args.required("config"));
  FATHOM_ASSIGN_OR_RETURN(std::string month, args.required("month"));
  FATHOM_RETURN_IF_ERROR(check_month(month));
  FATHOM_ASSIGN_OR_RETURN(auto cfg, gateway::load_gateway_config(path));
  FATHOM_ASSIGN_OR_RETURN(auto protection, gateway::load_data_protection(cfg));
  if (!protection)
    return invalid_argument("data protection is off (no data_protection.key_file in the config)");
  FATHOM_ASSIGN_OR_RETURN(auto keys, gateway::KeyStore::open(cfg.keys_db, protection));
  FATHOM_ASSIGN_OR_RETURN(auto all_keys, keys->list());
  std::set<std::string> tenants;
  for (const auto& k : all_keys) tenants.insert(k.tenant);
  FATHOM_ASSIGN_OR_RETURN(
      auto ledger, gateway::open_ledger(cfg.ledger_db, cfg.ledger_postgres, cfg.ledger_sync));
  int64_t intact = 0, unsealed = 0, tampered = 0;
  for (const std::string& tenant : tenants) {
    FATHOM_ASSIGN_OR_RETURN(auto rows, ledger->rows(tenant, month));
    for (const auto& r : rows) {
      if (r.mac.empty()) {
        ++unsealed;
        std::printf("UNSEALED %s\n", r.request_id.c_str());
      } else if (!protection->check(gateway::usage_row_text(r), r.mac)) {
        ++tampered;
        std::printf("TAMPERED %s\n", r.request_id.c_str());
      } else {
        ++intact;
      }
    }
  }
  std::printf("%s: %lld ledger rows sealed and intact, %lld unsealed, %lld failing their check\n",
              month.c_str(), static_cast<long long>(intact), static_cast<long long>(unsealed),
              static_cast<long long>(tampered));
  if (unsealed + tampered > 0) return data_loss("the ledger does not match its seals (see above)");
  return ok_status();
}

Status billing_main(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "verify") return billing_verify({argv.begin() + 1, argv.end()});
  if (argv.empty() || argv[0] != "report")
    return invalid_argument("usage: fathom billing report --config gateway.yaml --tenant T --month YYYY-MM");
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse({argv.begin() + 1, argv.end()},
                                                 {"config", "tenant", "month", "format"}, {}));
  FATHOM_ASSIGN_OR_RETURN(std::string path, args.required("config"));
  FATHOM_ASSIGN_OR_RETURN(std::string tenant, args.required("tenant"));
  FATHOM_ASSIGN_OR_RETURN(std::string month, args.required("month"));
  const std::string format = args.get_or("format", "csv");
  if (format != "csv" && format != "json") return invalid_argument("--format must be csv or json");
  FATHOM_RETURN_IF_ERROR(check_month(month));
  FATHOM_ASSIGN_OR_RETURN(auto cfg, gateway::load_gateway_config(path));
  FATHOM_ASSIGN_OR_RETURN(auto ledger, gateway::open_ledger(cfg.ledger_db, cfg.ledger_postgres, cfg.ledger_sync));
  FATHOM_ASSIGN_OR_RETURN(auto rows, ledger->rows(tenant, month));
  const auto report = gateway::make_billing_report(tenant, month, rows);
  std::fputs((format == "csv" ? gateway::render_csv(report) : gateway::render_json(report)).c_str(), stdout);
  return ok_status();
}

// Exit status 1 (an error) when a sensitive request was served in a cloud zone.
Status audit_zones(const std::vector<std::string>& argv) {
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse(argv, {"config", "month"}, {}));
  FATHOM_ASSIGN_OR_RETURN(std::string path, args.required("config"));
  FATHOM_ASSIGN_OR_RETURN(std::string month, args.required("month"));
  FATHOM_RETURN_IF_ERROR(check_month(month));
  FATHOM_ASSIGN_OR_RETURN(auto cfg, gateway::load_gateway_config(path));
  std::vector<nlohmann::json> records;
  FATHOM_ASSIGN_OR_RETURN(
      auto chain, gateway::verify_audit_log(
                      cfg.audit_log, [&](const nlohmann::json& r) { records.push_back(r); }));
  const auto routes = gateway::sensitive_routes(records, month);
  FATHOM_ASSIGN_OR_RETURN(
      auto ledger, gateway::open_ledger(cfg.ledger_db, cfg.ledger_postgres, cfg.ledger_sync));
  std::set<std::string> tenants;
  for (const auto& r : routes) tenants.insert(r.tenant);
  std::vector<gateway::UsageRecord> rows;
  for (const std::string& tenant : tenants) {
    FATHOM_ASSIGN_OR_RETURN(auto some, ledger->rows(tenant, month));
    rows.insert(rows.end(), some.begin(), some.end());
  }
  const gateway::ZoneReport z = gateway::check_zones(routes, rows, cfg);
  std::printf("audit log %s: %lld records, chain intact\n", cfg.audit_log.c_str(),
              static_cast<long long>(chain.num_records));
  std::printf(
      "%s: %lld sensitive requests: %lld served on-prem (ledger agrees), %lld from the cache, %lld "
      "not served, %lld without a ledger row yet, %lld sent redacted; %zu in a cloud zone\n",
      month.c_str(), static_cast<long long>(z.sensitive), static_cast<long long>(z.on_prem),
      static_cast<long long>(z.from_cache), static_cast<long long>(z.not_served),
      static_cast<long long>(z.unmatched), static_cast<long long>(z.redacted), z.violations.size());
  for (const std::string& v : z.violations) std::printf("VIOLATION %s\n", v.c_str());
  if (!z.ok()) return data_loss("sensitive requests were served in a cloud zone (see above)");
  std::printf("OK: no sensitive request was served by a cloud zone\n");
  return ok_status();
}

Status audit_main(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "zones") return audit_zones({argv.begin() + 1, argv.end()});
  if (argv.size() != 2 || argv[0] != "verify")
    return invalid_argument(
        "usage: fathom audit verify FILE | fathom audit zones --config gateway.yaml --month "
        "YYYY-MM");
  FATHOM_ASSIGN_OR_RETURN(auto v, gateway::verify_audit_log(argv[1]));
  std::printf("%s: %lld records in %lld file(s), seq %lld..%lld, chain intact (last hash %s)\n",
              argv[1].c_str(), static_cast<long long>(v.num_records),
              static_cast<long long>(v.files), static_cast<long long>(v.first_seq),
              static_cast<long long>(v.next_seq - 1), v.last_hash.c_str());
  if (v.first_seq > 0)
    std::printf("records 0..%lld were pruned by retention (audit.pruned records say so)\n",
                static_cast<long long>(v.first_seq - 1));
  return ok_status();
}

int report(const char* what, const Status& s) {
  if (s.ok()) return 0;
  std::fprintf(stderr, "fathom %s: %s\n", what, s.message().c_str());
  return 1;
}

}  // namespace

int run_billing(const std::vector<std::string>& argv) { return report("billing", billing_main(argv)); }
int run_audit(const std::vector<std::string>& argv) { return report("audit", audit_main(argv)); }

}  // namespace fathom::cli
