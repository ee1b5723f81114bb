#include "gateway/security/key_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "gateway/security/api_keys.h"
#include "gateway/security/file_watch.h"

namespace fathom::gateway {

// Authentication is on every request's path, so found keys are cached in memory by hash. The
// cache is dropped when this store writes, and when another connection (`fathom keys revoke`,
// another replica) committed to the database: SQLite's data_version says so. Asking costs a
// read transaction (a few system calls and ~10 us), so it is asked only after a FileWatch saw
// the database files change (one read() per request), or every time without inotify.
struct KeyStore::Db {
  sqlite3* db = nullptr;
  sqlite3_stmt* data_version = nullptr;
  sqlite3_stmt* by_hash = nullptr;
  mutable std::mutex mu;
  std::unordered_map<std::string, KeyInfo> cache;  // by key hash; guarded by mu
  int64_t cache_version = -1;
  std::unique_ptr<FileWatch> watch;  // null: ask every time
  std::shared_ptr<const DataProtection> protection;
  ~Db() {
    sqlite3_finalize(data_version);
    sqlite3_finalize(by_hash);
    sqlite3_close(db);
  }
  /// Called with mu held.
  void validate_cache_if_changed() {
    if (watch && !watch->changed()) return;
    validate_cache();
  }
  /// Empties the cache when another connection changed the database. Called with mu held.
  void validate_cache() {
    sqlite3_reset(data_version);
    const int64_t v = sqlite3_step(data_version) == SQLITE_ROW ? sqlite3_column_int64(data_version, 0) : -1;
    if (v != cache_version || v < 0) cache.clear();
    cache_version = v;
  }
};

bool KeyInfo::allows(const std::string& model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash TEXT PRIMARY KEY,
  key_id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  models TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked_ms INTEGER NOT NULL,
  admin INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
)sql";

// Databases created before rows were sealed gain the column; '' = not sealed.
constexpr const char* kAddMac = "ALTER TABLE api_keys ADD COLUMN mac TEXT NOT NULL DEFAULT ''";

constexpr const char* kColumns = "key_id,tenant,models,created_ms,expires_ms,revoked_ms,admin";

// The bytes a row's MAC covers: every field, the key hash included, as a JSON array.
std::string row_text(const std::string& key_hash, const KeyInfo& k) {
  return nlohmann::json::array({key_hash, k.key_id, k.tenant, k.models, k.created_ms, k.expires_ms,
                                k.revoked_ms, k.admin})
      .dump();
}

std::string column_text(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

KeyInfo read_row(sqlite3_stmt* st) {
  KeyInfo k;
  k.key_id = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  k.tenant = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  const auto models = nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)),
                                            nullptr, false);
  if (models.is_array())
    for (const auto& m : models)
      if (m.is_string()) k.models.push_back(m.get<std::string>());
  k.created_ms = sqlite3_column_int64(st, 3);
  k.expires_ms = sqlite3_column_int64(st, 4);
  k.revoked_ms = sqlite3_column_int64(st, 5);
  k.admin = sqlite3_column_int(st, 6) != 0;
  return k;
}

// A row as sealing sees it: its fields, its key hash and its MAC ('' = not sealed), read from a
// statement made by sealed_select().
struct SealedRow {
  KeyInfo info;
  std::string hash, mac;
};

std::string sealed_select(const char* rest) {
  return std::string("SELECT ") + kColumns + ",key_hash,mac FROM api_keys " + rest;
}

SealedRow read_sealed_row(sqlite3_stmt* st) {
  return {read_row(st), column_text(st, 7), column_text(st, 8)};
}

bool intact(const DataProtection& p, const SealedRow& r) {
  return p.check(row_text(r.hash, r.info), r.mac);
}

Status protection_on(const std::shared_ptr<const DataProtection>& p) {
  return p ? ok_status()
           : invalid_argument("data protection is off (no data_protection.key_file in the config)");
}

}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::open(const std::string& path,
                                                 std::shared_ptr<const DataProtection> protection) {
  std::unique_ptr<KeyStore> ks(new KeyStore());
  ks->db_ = std::make_unique<Db>();
  ks->db_->protection = std::move(protection);
  if (sqlite3_open_v2(path.c_str(), &ks->db_->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK)
    return unavailable(path + ": cannot open key store: " + sqlite3_errmsg(ks->db_->db));
  sqlite3_busy_timeout(ks->db_->db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(ks->db_->db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return unavailable(path + ": key store schema: " + m);
  }
  if (sqlite3_exec(ks->db_->db, kAddMac, nullptr, nullptr, nullptr) != SQLITE_OK &&
      std::string(sqlite3_errmsg(ks->db_->db)).find("duplicate column") == std::string::npos)
    return unavailable(path + ": key store schema: " + sqlite3_errmsg(ks->db_->db));
  const std::string by_hash = sealed_select("WHERE key_hash=?");
  if (sqlite3_prepare_v2(ks->db_->db, "PRAGMA data_version", -1, &ks->db_->data_version, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(ks->db_->db, by_hash.c_str(), -1, &ks->db_->by_hash, nullptr) != SQLITE_OK)
    return unavailable(path + ": key store: " + sqlite3_errmsg(ks->db_->db));
  const std::filesystem::path file = std::filesystem::absolute(path);
  ks->db_->watch = FileWatch::start(file.parent_path().string(),
                                    {file.filename().string(), file.filename().string() + "-wal"});
  return ks;
}

KeyStore::~KeyStore() = default;

Result<NewKey> KeyStore::create(const std::string& tenant, std::vector<std::string> models,
                                int64_t expires_ms, bool admin, int64_t now_ms) {
  if (tenant.empty()) return invalid_argument("a key needs a tenant");
  FATHOM_ASSIGN_OR_RETURN(std::string key, generate_api_key());
  const std::string hash = hash_api_key(key);
  NewKey out{key, KeyInfo{key_id(hash), tenant, std::move(models), now_ms, expires_ms, 0, admin}};
  std::lock_guard<std::mutex> lock(db_->mu);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_->db,
                     "INSERT INTO api_keys "
                     "(key_hash,key_id,tenant,models,created_ms,expires_ms,revoked_ms,admin,mac) "
                     "VALUES (?,?,?,?,?,?,0,?,?)",
                     -1, &st, nullptr);
  const std::string mac = db_->protection ? db_->protection->seal(row_text(hash, out.info)) : "";
  const std::string models_json = nlohmann::json(out.info.models).dump();
  sqlite3_bind_text(st, 1, hash.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, out.info.key_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, tenant.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, models_json.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, now_ms);
  sqlite3_bind_int64(st, 6, expires_ms);
  sqlite3_bind_int(st, 7, admin ? 1 : 0);
  sqlite3_bind_text(st, 8, mac.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  db_->cache.clear();
  if (rc != SQLITE_DONE) return unavailable(std::string("key store insert failed: ") + sqlite3_errmsg(db_->db));
  return out;
}

Result<KeyInfo> KeyStore::authenticate(const std::string& key, int64_t now_ms) const {
  const std::string hash = hash_api_key(key);
  std::lock_guard<std::mutex> lock(db_->mu);
  db_->validate_cache_if_changed();
  auto cached = db_->cache.find(hash);
  if (cached == db_->cache.end()) {  // unknown keys are not cached: guessing cannot grow the cache
    sqlite3_stmt* st = db_->by_hash;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, hash.c_str(), -1, SQLITE_TRANSIENT);
    const bool hit =
        sqlite3_step(st) == SQLITE_ROW && constant_time_equal(column_text(st, 7), hash);
    std::optional<SealedRow> row;
    if (hit) row = read_sealed_row(st);
    sqlite3_reset(st);
    if (!row) return Status(Code::kUnauthenticated, "invalid API key");
    if (db_->protection && !intact(*db_->protection, *row))
      return Status(Code::kUnauthenticated,
                    "API key " + row->info.key_id +
                        (row->mac.empty() ? " is not sealed (run fathom keys seal)"
                                          : " failed the key store's integrity check"));
    cached = db_->cache.emplace(hash, std::move(row->info)).first;
  }
  const KeyInfo* found = &cached->second;
  if (found->revoked_ms != 0) return Status(Code::kUnauthenticated, "API key " + found->key_id + " was revoked");
  if (found->expires_ms != 0 && now_ms >= found->expires_ms)
    return Status(Code::kUnauthenticated, "API key " + found->key_id + " has expired");
  return *found;
}

Status KeyStore::revoke(const std::string& id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(db_->mu);
  // A sealed row is sealed again with its new revoked_ms; a row that fails its check keeps its
  // (wrong) MAC: revoking must not launder an edited row.
  std::string mac;
  bool reseal = false;
  if (db_->protection) {
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db_->db, sealed_select("WHERE key_id=?").c_str(), -1, &q, nullptr);
    sqlite3_bind_text(q, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) {
      SealedRow row = read_sealed_row(q);
      if (intact(*db_->protection, row)) {
        row.info.revoked_ms = now_ms;
        mac = db_->protection->seal(row_text(row.hash, row.info));
        reseal = true;
      }
    }
    sqlite3_finalize(q);
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_->db,
                     reseal
                         ? "UPDATE api_keys SET revoked_ms=?, mac=? WHERE key_id=? AND revoked_ms=0"
                         : "UPDATE api_keys SET revoked_ms=? WHERE key_id=? AND revoked_ms=0",
                     -1, &st, nullptr);
  int i = 1;
  sqlite3_bind_int64(st, i++, now_ms);
  if (reseal) sqlite3_bind_text(st, i++, mac.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, i, id.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  db_->cache.clear();
  if (rc != SQLITE_DONE) return unavailable(std::string("key store update failed: ") + sqlite3_errmsg(db_->db));
  if (sqlite3_changes(db_->db) == 0) return not_found("no active key with id " + id);
  return ok_status();
}

Result<KeyIntegrity> KeyStore::verify_integrity() const {
  FATHOM_RETURN_IF_ERROR(protection_on(db_->protection));
  std::lock_guard<std::mutex> lock(db_->mu);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_->db, sealed_select("ORDER BY key_id").c_str(), -1, &st, nullptr);
  KeyIntegrity r;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const SealedRow row = read_sealed_row(st);
    if (row.mac.empty())
      r.unsealed.push_back(row.info.key_id);
    else if (intact(*db_->protection, row))
      ++r.sealed;
    else
      r.tampered.push_back(row.info.key_id);
  }
  sqlite3_finalize(st);
  return r;
}

Result<int64_t> KeyStore::seal_unsealed() {
  FATHOM_RETURN_IF_ERROR(protection_on(db_->protection));
  std::lock_guard<std::mutex> lock(db_->mu);
  std::vector<std::pair<std::string, std::string>> seals;  // key_hash, mac
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_->db, sealed_select("WHERE mac=''").c_str(), -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const SealedRow row = read_sealed_row(st);
    seals.emplace_back(row.hash, db_->protection->seal(row_text(row.hash, row.info)));
  }
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db_->db, "UPDATE api_keys SET mac=? WHERE key_hash=? AND mac=''", -1, &st,
                     nullptr);
  int64_t n = 0;
  for (const auto& [hash, mac] : seals) {
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, mac.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, hash.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) break;
    n += sqlite3_changes(db_->db);
  }
  sqlite3_finalize(st);
  db_->cache.clear();
  return n;
}

Result<std::vector<KeyInfo>> KeyStore::list(const std::string& tenant) const {
  std::lock_guard<std::mutex> lock(db_->mu);
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string("SELECT ") + kColumns + " FROM api_keys" +
                          (tenant.empty() ? "" : " WHERE tenant=?") + " ORDER BY created_ms, key_id";
  sqlite3_prepare_v2(db_->db, sql.c_str(), -1, &st, nullptr);
  if (!tenant.empty()) sqlite3_bind_text(st, 1, tenant.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<KeyInfo> out;
  while (sqlite3_step(st) == SQLITE_ROW) out.push_back(read_row(st));
  sqlite3_finalize(st);
  return out;
}

}  // namespace fathom::gateway
