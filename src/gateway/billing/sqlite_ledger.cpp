#include <sqlite3.h>

#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "gateway/billing/group_commit.h"
#include "gateway/billing/ledger.h"

namespace fathom::gateway {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS usage (
  request_id TEXT PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  month TEXT NOT NULL,
  tenant TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  upstream TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  status INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS usage_key_time ON usage(key_id, time_ms);
CREATE INDEX IF NOT EXISTS usage_tenant_month ON usage(tenant, month, time_ms);
)sql";

class SqliteLedger final : public Ledger {
 public:
  ~SqliteLedger() override {
    writer_.stop();  // commits what is queued while the connection is still open
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }

  Status init(const std::string& path, LedgerSync sync) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
      return unavailable(path + ": cannot open ledger: " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
    char* err = nullptr;
    if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown error";
      sqlite3_free(err);
      return unavailable(path + ": cannot create the ledger schema: " + m);
    }
    const char* pragma = sync == LedgerSync::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr) != SQLITE_OK)
      return unavailable(path + ": " + pragma + ": " + sqlite3_errmsg(db_));
    if (sqlite3_prepare_v2(db_,
                           "INSERT OR IGNORE INTO usage VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                           &insert_, nullptr) != SQLITE_OK)
      return internal_error(std::string("ledger insert: ") + sqlite3_errmsg(db_));
    path_ = path;
    writer_.start([this](const std::vector<UsageRecord>& batch) { return commit(batch); });
    return ok_status();
  }

  void submit(UsageRecord r, std::function<void(const Status&)> done) override {
    writer_.submit(std::move(r), std::move(done));
  }

  Result<std::vector<UsageRecord>> rows(const std::string& tenant, const std::string& month) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT request_id,time_ms,tenant,key_id,model,upstream,prompt_tokens,"
                           "completion_tokens,cached_tokens,cost_nanos,latency_ms,status FROM usage "
                           "WHERE tenant=? AND month=? ORDER BY time_ms, request_id",
                           -1, &st, nullptr) != SQLITE_OK)
      return internal_error(std::string("ledger query: ") + sqlite3_errmsg(db_));
    sqlite3_bind_text(st, 1, tenant.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, month.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<UsageRecord> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      auto text = [&](int c) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c))); };
      UsageRecord r;
      r.request_id = text(0);
      r.time_ms = sqlite3_column_int64(st, 1);
      r.tenant = text(2);
      r.key_id = text(3);
      r.model = text(4);
      r.upstream = text(5);
      r.prompt_tokens = sqlite3_column_int64(st, 6);
      r.completion_tokens = sqlite3_column_int64(st, 7);
      r.cached_tokens = sqlite3_column_int64(st, 8);
      r.cost_nanos = sqlite3_column_int64(st, 9);
      r.latency_ms = sqlite3_column_int64(st, 10);
      r.status = sqlite3_column_int(st, 11);
      out.push_back(std::move(r));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return unavailable(std::string("ledger query failed: ") + sqlite3_errmsg(db_));
    return out;
  }

  Result<int64_t> monthly_tokens(const std::string& tenant, const std::string& month) override {
    FATHOM_ASSIGN_OR_RETURN(auto rs, rows(tenant, month));
    int64_t total = 0;
    for (const auto& r : rs) total += r.prompt_tokens + r.completion_tokens;
    return total;
  }

 private:
  // One transaction for the whole batch: one fsync for many requests.
  Status commit(const std::vector<UsageRecord>& batch) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return unavailable(std::string("ledger: ") + sqlite3_errmsg(db_));
    for (const UsageRecord& r : batch) {
      sqlite3_reset(insert_);
      sqlite3_bind_text(insert_, 1, r.request_id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_, 2, r.time_ms);
      const std::string month = month_of(r.time_ms);
      sqlite3_bind_text(insert_, 3, month.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_, 4, r.tenant.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_, 5, r.key_id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_, 6, r.model.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert_, 7, r.upstream.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_, 8, r.prompt_tokens);
      sqlite3_bind_int64(insert_, 9, r.completion_tokens);
      sqlite3_bind_int64(insert_, 10, r.cached_tokens);
      sqlite3_bind_int64(insert_, 11, r.cost_nanos);
      sqlite3_bind_int64(insert_, 12, r.latency_ms);
      sqlite3_bind_int(insert_, 13, r.status);
      if (sqlite3_step(insert_) != SQLITE_DONE) {
        std::string m = sqlite3_errmsg(db_);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return unavailable("ledger insert failed: " + m);
      }
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string m = sqlite3_errmsg(db_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return unavailable("ledger commit failed: " + m);
    }
    return ok_status();
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::string path_;
  GroupCommitter writer_;  // last member: stopped first, before the connections close
};

}  // namespace

Status Ledger::record(const UsageRecord& r) {
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  };
  auto w = std::make_shared<Wait>();
  submit(r, [w](const Status& s) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->status = s;
    w->done = true;
    w->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(w->mu);
  w->cv.wait(lock, [&] { return w->done; });
  return w->status;
}

Result<LedgerSync> parse_ledger_sync(const std::string& s) {
  if (s == "full") return LedgerSync::kFull;
  if (s == "normal") return LedgerSync::kNormal;
  return invalid_argument("must be 'full' (survives a machine crash) or 'normal' (survives a gateway crash), not '" +
                          s + "'");
}

std::string month_of(int64_t time_ms) {
  const std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m", &tm);
  return buf;
}

Result<std::unique_ptr<Ledger>> open_sqlite_ledger(const std::string& path, LedgerSync sync) {
  auto ledger = std::make_unique<SqliteLedger>();
  FATHOM_RETURN_IF_ERROR(ledger->init(path, sync));
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace fathom::gateway
