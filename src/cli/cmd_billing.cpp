// fathom billing report --config gateway.yaml --tenant T --month 2026-11 [--format csv|json]
// fathom audit verify FILE
#include <cstdio>

#include "cli/args.h"
#include "gateway/billing/ledger.h"
#include "gateway/billing/report.h"
#include "gateway/config/gateway_config.h"
#include "gateway/security/audit_log.h"

namespace fathom::cli {
namespace {

Status billing_main(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] != "report")
    return invalid_argument("usage: fathom billing report --config gateway.yaml --tenant T --month YYYY-MM");
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse({argv.begin() + 1, argv.end()},
                                                 {"config", "tenant", "month", "format"}, {}));
  FATHOM_ASSIGN_OR_RETURN(std::string path, args.required("config"));
  FATHOM_ASSIGN_OR_RETURN(std::string tenant, args.required("tenant"));
  FATHOM_ASSIGN_OR_RETURN(std::string month, args.required("month"));
  const std::string format = args.get_or("format", "csv");
  if (format != "csv" && format != "json") return invalid_argument("--format must be csv or json");
  if (month.size() != 7 || month[4] != '-') return invalid_argument("--month must look like 2026-11");
  FATHOM_ASSIGN_OR_RETURN(auto cfg, gateway::load_gateway_config(path));
  FATHOM_ASSIGN_OR_RETURN(auto ledger, gateway::open_ledger(cfg.ledger_db, cfg.ledger_postgres, cfg.ledger_sync));
  FATHOM_ASSIGN_OR_RETURN(auto rows, ledger->rows(tenant, month));
  const auto report = gateway::make_billing_report(tenant, month, rows);
  std::fputs((format == "csv" ? gateway::render_csv(report) : gateway::render_json(report)).c_str(), stdout);
  return ok_status();
}

Status audit_main(const std::vector<std::string>& argv) {
  if (argv.size() != 2 || argv[0] != "verify") return invalid_argument("usage: fathom audit verify FILE");
  FATHOM_ASSIGN_OR_RETURN(auto v, gateway::verify_audit_log(argv[1]));
  std::printf("%s: %lld records, chain intact (last hash %s)\n", argv[1].c_str(),
              static_cast<long long>(v.num_records), v.last_hash.c_str());
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
