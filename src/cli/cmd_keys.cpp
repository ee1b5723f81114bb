// fathom keys create --config gateway.yaml --tenant T [--models a,b] [--expires-days N] [--admin]
// fathom keys list   --config gateway.yaml [--tenant T]
// fathom keys revoke --config gateway.yaml --id KEY_ID
// fathom keys verify --config gateway.yaml   (data protection: every row against its MAC)
// fathom keys seal   --config gateway.yaml   (seals rows written before data protection was on)
// The key is printed once, at creation; only its hash is stored.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/args.h"
#include "gateway/config/gateway_config.h"
#include "gateway/security/audit_log.h"
#include "gateway/security/key_store.h"

namespace fathom::cli {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

Status keys_main(const std::vector<std::string>& argv) {
  if (argv.empty())
    return invalid_argument(
        "usage: fathom keys create|list|revoke|verify|seal --config gateway.yaml ...");
  const std::string verb = argv[0];
  FATHOM_ASSIGN_OR_RETURN(Args args, Args::parse({argv.begin() + 1, argv.end()},
                                                 {"config", "tenant", "models", "expires-days", "id"}, {"admin"}));
  FATHOM_ASSIGN_OR_RETURN(std::string path, args.required("config"));
  FATHOM_ASSIGN_OR_RETURN(auto cfg, gateway::load_gateway_config(path));
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  FATHOM_ASSIGN_OR_RETURN(auto protection, gateway::load_data_protection(cfg));
  FATHOM_ASSIGN_OR_RETURN(auto store, gateway::KeyStore::open(cfg.keys_db, protection));
  FATHOM_ASSIGN_OR_RETURN(
      auto audit, gateway::AuditLog::open(cfg.audit_log, cfg.audit_hash, cfg.audit_rotation));
  if (verb == "create") {
    FATHOM_ASSIGN_OR_RETURN(std::string tenant, args.required("tenant"));
    FATHOM_ASSIGN_OR_RETURN(int64_t days, args.get_int("expires-days", 0));
    const int64_t now = now_ms();
    FATHOM_ASSIGN_OR_RETURN(auto k, store->create(tenant, split_commas(args.get_or("models", "")),
                                                  days > 0 ? now + days * 86'400'000 : 0, args.has("admin"), now));
    FATHOM_RETURN_IF_ERROR(audit->append("key.created", {{"key_id", k.info.key_id}, {"tenant", tenant}, {"by", "cli"}}));
    std::printf("%s\n", k.key.c_str());
    std::fprintf(stderr, "key id %s for tenant %s: store the key now, it is not shown again\n",
                 k.info.key_id.c_str(), tenant.c_str());
    return ok_status();
  }
  if (verb == "list") {
    FATHOM_ASSIGN_OR_RETURN(auto keys, store->list(args.get_or("tenant", "")));
    std::printf("%-14s %-16s %-6s %-8s %s\n", "KEY_ID", "TENANT", "ADMIN", "STATE", "MODELS");
    for (const auto& k : keys) {
      std::string models;
      for (const auto& m : k.models) models += (models.empty() ? "" : ",") + m;
      const char* state = k.revoked_ms ? "revoked" : (k.expires_ms && k.expires_ms <= now_ms()) ? "expired" : "active";
      std::printf("%-14s %-16s %-6s %-8s %s\n", k.key_id.c_str(), k.tenant.c_str(), k.admin ? "yes" : "no", state,
                  models.empty() ? "*" : models.c_str());
    }
    return ok_status();
  }
  if (verb == "revoke") {
    FATHOM_ASSIGN_OR_RETURN(std::string id, args.required("id"));
    FATHOM_RETURN_IF_ERROR(store->revoke(id, now_ms()));
    FATHOM_RETURN_IF_ERROR(audit->append("key.revoked", {{"key_id", id}, {"by", "cli"}}));
    std::printf("revoked %s\n", id.c_str());
    return ok_status();
  }
  if (verb == "verify") {  // exit 1 when a row is unsealed or fails its check
    FATHOM_ASSIGN_OR_RETURN(auto r, store->verify_integrity());
    std::printf("%s: %lld rows sealed and intact, %zu unsealed, %zu failing their check\n",
                cfg.keys_db.c_str(), static_cast<long long>(r.sealed), r.unsealed.size(),
                r.tampered.size());
    for (const auto& id : r.unsealed) std::printf("UNSEALED %s\n", id.c_str());
    for (const auto& id : r.tampered) std::printf("TAMPERED %s\n", id.c_str());
    if (!r.tampered.empty() || !r.unsealed.empty())
      return data_loss("the key store does not match its seals (see above)");
    return ok_status();
  }
  if (verb == "seal") {
    FATHOM_ASSIGN_OR_RETURN(int64_t n, store->seal_unsealed());
    FATHOM_RETURN_IF_ERROR(audit->append("keys.sealed", {{"rows", n}, {"by", "cli"}}));
    std::printf("sealed %lld rows\n", static_cast<long long>(n));
    return ok_status();
  }
  return invalid_argument("unknown keys command '" + verb +
                          "' (create, list, revoke, verify, seal)");
}

}  // namespace

int run_keys(const std::vector<std::string>& argv) {
  Status s = keys_main(argv);
  if (!s.ok()) {
    std::fprintf(stderr, "fathom keys: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace fathom::cli
