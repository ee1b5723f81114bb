#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/logging.h"
#include "gateway/billing/group_commit.h"
#include "gateway/billing/ledger.h"
#include "gateway/billing/usage_journal.h"

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
  status INTEGER NOT NULL,
  mac TEXT NOT NULL DEFAULT '',
  billed_ms INTEGER NOT NULL DEFAULT 0,
  billing_granularity_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS usage_key_time ON usage(key_id, time_ms);
CREATE INDEX IF NOT EXISTS usage_tenant_month ON usage(tenant, month, time_ms);
)sql";

// Rows reach the journal (usage_journal.h) before their request is answered: inline on the
// caller's thread with ledger_sync normal (one write()), through a GroupCommitter with full
// (one write() and one fdatasync per group). A mover thread then inserts them into SQLite in
// batches, every kMoveInterval or kMoveBatch rows, and deletes the journal segment they came
// from. Queries move what is pending first, so they see every acknowledged row.
class SqliteLedger final : public Ledger {
 public:
  static constexpr auto kMoveInterval = std::chrono::milliseconds(1000);
  static constexpr size_t kMoveBatch = 4096;

  ~SqliteLedger() override {
    writer_.stop();  // journals what is queued
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (mover_.joinable()) mover_.join();  // moves what is pending into SQLite
    journal_.reset();
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
    // Older ledgers gain the columns added since: mac ('' = not sealed), then the per_compute
    // billing fields (0 = a per-token row).
    for (const char* column :
         {"mac TEXT NOT NULL DEFAULT ''", "billed_ms INTEGER NOT NULL DEFAULT 0",
          "billing_granularity_ms INTEGER NOT NULL DEFAULT 0"})
      if (sqlite3_exec(db_, (std::string("ALTER TABLE usage ADD COLUMN ") + column).c_str(),
                       nullptr, nullptr, nullptr) != SQLITE_OK &&
          std::string(sqlite3_errmsg(db_)).find("duplicate column") == std::string::npos)
        return unavailable(path + ": cannot add the column " + column + ": " + sqlite3_errmsg(db_));
    const char* pragma = sync == LedgerSync::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (sqlite3_exec(db_, pragma, nullptr, nullptr, nullptr) != SQLITE_OK)
      return unavailable(path + ": " + pragma + ": " + sqlite3_errmsg(db_));
    if (sqlite3_prepare_v2(
            db_,
            "INSERT OR IGNORE INTO usage "
            "(request_id,time_ms,month,tenant,key_id,model,upstream,prompt_tokens,"
            "completion_tokens,cached_tokens,cost_nanos,latency_ms,status,mac,billed_ms,"
            "billing_granularity_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &insert_, nullptr) != SQLITE_OK)
      return internal_error(std::string("ledger insert: ") + sqlite3_errmsg(db_));
    path_ = path;
    // Rows a crashed gateway journaled but did not move (and a live one's pending rows).
    const std::string journal_dir = path + ".journal";
    FATHOM_RETURN_IF_ERROR(
        UsageJournal::recover(journal_dir, [this](const std::vector<UsageRecord>& rows) { return insert(rows); }));
    FATHOM_ASSIGN_OR_RETURN(journal_, UsageJournal::open(journal_dir, sync));
    sync_ = sync;
    if (sync_ == LedgerSync::kFull)
      writer_.start([this](const std::vector<UsageRecord>& batch) { return journal(batch); });
    mover_ = std::thread([this] { move_loop(); });
    return ok_status();
  }

  void submit(UsageRecord r, std::function<void(const Status&)> done) override {
    if (sync_ == LedgerSync::kFull) return writer_.submit(std::move(r), std::move(done));
    const Status s = journal({r});
    if (done) done(s);
  }

  LedgerBacklog backlog() const override {
    std::lock_guard<std::mutex> lock(mu_);
    LedgerBacklog b;
    b.rows = static_cast<int64_t>(pending_.size());
    for (const UsageRecord& r : pending_)
      if (b.oldest_time_ms == 0 || r.time_ms < b.oldest_time_ms) b.oldest_time_ms = r.time_ms;
    return b;
  }

  Result<std::vector<UsageRecord>> rows(const std::string& tenant, const std::string& month) override {
    FATHOM_RETURN_IF_ERROR(move_pending());
    std::lock_guard<std::mutex> db_lock(db_mu_);
    FATHOM_ASSIGN_OR_RETURN(
        sqlite3_stmt * st,
        tenant_month_query(
            "SELECT request_id,time_ms,tenant,key_id,model,upstream,prompt_tokens,"
            "completion_tokens,cached_tokens,cost_nanos,latency_ms,status,mac,billed_ms,"
            "billing_granularity_ms FROM usage WHERE tenant=? AND month=? ORDER BY time_ms, "
            "request_id",
            tenant, month));
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
      r.mac = text(12);
      r.billed_ms = sqlite3_column_int64(st, 13);
      r.billing_granularity_ms = sqlite3_column_int64(st, 14);
      out.push_back(std::move(r));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return unavailable(std::string("ledger query failed: ") + sqlite3_errmsg(db_));
    return out;
  }

  Result<int64_t> monthly_tokens(const std::string& tenant, const std::string& month) override {
    FATHOM_RETURN_IF_ERROR(move_pending());
    std::lock_guard<std::mutex> db_lock(db_mu_);
    FATHOM_ASSIGN_OR_RETURN(sqlite3_stmt* st,
                            tenant_month_query("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage "
                                               "WHERE tenant=? AND month=?",
                                               tenant, month));
    const int rc = sqlite3_step(st);
    const int64_t total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return unavailable(std::string("ledger query failed: ") + sqlite3_errmsg(db_));
    return total;
  }

 private:
  /// `sql` with ?1 = tenant and ?2 = month bound; the caller finalizes it. Called with db_mu_ held.
  Result<sqlite3_stmt*> tenant_month_query(const char* sql, const std::string& tenant, const std::string& month) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK)
      return internal_error(std::string("ledger query: ") + sqlite3_errmsg(db_));
    sqlite3_bind_text(st, 1, tenant.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, month.c_str(), -1, SQLITE_TRANSIENT);
    return st;
  }

  /// Appends to the journal; the rows then wait in pending_ for the mover.
  Status journal(const std::vector<UsageRecord>& rows) {
    std::lock_guard<std::mutex> lock(mu_);
    FATHOM_RETURN_IF_ERROR(journal_->append(rows));
    pending_.insert(pending_.end(), rows.begin(), rows.end());
    if (pending_.size() >= kMoveBatch) cv_.notify_one();
    return ok_status();
  }

  void move_loop() {
    // Batches of SQLite inserts (and their checkpoints) must not take the CPU from the threads
    // answering requests: this thread runs at the lowest priority.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, kMoveInterval, [&] { return stopping_ || pending_.size() >= kMoveBatch; });
      lock.unlock();
      if (Status s = move_pending(); !s.ok())
        FATHOM_LOG(kError) << path_ << ": moving journaled usage rows into the ledger: " << s.message()
                           << " (they stay journaled; retrying)";
      lock.lock();
    }
    lock.unlock();
    (void)move_pending();
  }

  /// Inserts the pending rows into SQLite, then deletes the journal segments they came from.
  Status move_pending() {
    std::lock_guard<std::mutex> move_lock(move_mu_);
    std::vector<UsageRecord> rows;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_.empty()) return ok_status();
      rows.swap(pending_);
      moved_segments_.push_back(journal_->rotate());
    }
    Status s;
    {
      std::lock_guard<std::mutex> db_lock(db_mu_);
      s = insert(rows);
    }
    if (!s.ok()) {  // keep them (journaled and pending) for the next try
      std::lock_guard<std::mutex> lock(mu_);
      pending_.insert(pending_.begin(), rows.begin(), rows.end());
      return s;
    }
    for (const std::string& segment : moved_segments_)
      if (!segment.empty()) ::unlink(segment.c_str());
    moved_segments_.clear();
    return ok_status();
  }

  // One transaction for the whole batch; INSERT OR IGNORE: a row moved twice counts once.
  Status insert(const std::vector<UsageRecord>& batch) {
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
      sqlite3_bind_text(insert_, 14, r.mac.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_, 15, r.billed_ms);
      sqlite3_bind_int64(insert_, 16, r.billing_granularity_ms);
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
  LedgerSync sync_ = LedgerSync::kFull;
  std::unique_ptr<UsageJournal> journal_;
  std::mutex db_mu_;    // the SQLite connection
  std::mutex move_mu_;  // one move at a time; taken before mu_
  mutable std::mutex mu_;  // journal_, pending_, moved_segments_, stopping_
  std::condition_variable cv_;
  std::vector<UsageRecord> pending_;          // journaled, not yet in SQLite
  std::vector<std::string> moved_segments_;   // to delete once their rows are in SQLite
  bool stopping_ = false;
  std::thread mover_;
  GroupCommitter writer_;  // ledger_sync full only
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

std::string usage_row_text(const UsageRecord& r) {
  nlohmann::json row = nlohmann::json::array(
      {r.request_id, r.time_ms, r.tenant, r.key_id, r.model, r.upstream, r.prompt_tokens,
       r.completion_tokens, r.cached_tokens, r.cost_nanos, r.latency_ms, r.status});
  if (r.billing_granularity_ms > 0) {  // per_compute rows only: older seals stay valid
    row.push_back(r.billed_ms);
    row.push_back(r.billing_granularity_ms);
  }
  return row.dump();
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
