// The usage ledger in PostgreSQL, for several gateway replicas sharing one database.
// Same contract as the SQLite ledger: submit() queues, one writer thread commits each batch in
// one transaction (one multi-row INSERT ... ON CONFLICT (request_id) DO NOTHING), and the
// callbacks run only after COMMIT returned, so an acknowledged row is durable
// (synchronous_commit is left at its default, on) and a retried row is never counted twice.
#include <libpq-fe.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/billing/group_commit.h"
#include "gateway/billing/ledger.h"

namespace fathom::gateway {
namespace {

// One schema creation at a time across replicas (CREATE ... IF NOT EXISTS races otherwise).
constexpr const char* kSchema = R"sql(
SET client_min_messages = warning;
SELECT pg_advisory_xact_lock(7236051);
CREATE TABLE IF NOT EXISTS usage (
  request_id TEXT PRIMARY KEY,
  time_ms BIGINT NOT NULL,
  month TEXT NOT NULL,
  tenant TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  upstream TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cached_tokens BIGINT NOT NULL,
  cost_nanos BIGINT NOT NULL,
  latency_ms BIGINT NOT NULL,
  status INTEGER NOT NULL);
ALTER TABLE usage ADD COLUMN IF NOT EXISTS mac TEXT NOT NULL DEFAULT '';
ALTER TABLE usage ADD COLUMN IF NOT EXISTS billed_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN IF NOT EXISTS billing_granularity_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS usage_key_time ON usage(key_id, time_ms);
CREATE INDEX IF NOT EXISTS usage_tenant_month ON usage(tenant, month, time_ms);
)sql";

constexpr int kColumns = 16;
// A batch is one statement with kColumns parameters per row: libpq allows 65535.
static_assert(GroupCommitter::kMaxBatch * kColumns < 65535);

// Owns one PGresult.
struct PgResult {
  explicit PgResult(PGresult* r) : r(r) {}
  ~PgResult() { PQclear(r); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  bool ok() const {
    const ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }
  PGresult* r;
};

std::string pg_error(PGconn* c) {
  std::string m = c ? PQerrorMessage(c) : "no connection";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// A connection that reconnects once when the server dropped it (restart, failover).
class PgConnection {
 public:
  ~PgConnection() {
    if (conn_) PQfinish(conn_);
  }
  /// `setup` (SQL, may be empty) runs on every (re)connection.
  Status open(const std::string& conninfo, std::string setup = "") {
    setup_ = std::move(setup);
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) return unavailable("ledger_postgres: cannot connect: " + pg_error(conn_));
    return run_setup();
  }
  PGconn* get() {
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      if (PQstatus(conn_) == CONNECTION_OK) (void)run_setup();
    }
    return conn_;
  }

 private:
  Status run_setup() {
    if (setup_.empty()) return ok_status();
    PGresult* r = PQexec(conn_, setup_.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? ok_status() : unavailable("ledger_postgres: " + setup_ + ": " + pg_error(conn_));
  }
  std::string setup_;
  PGconn* conn_ = nullptr;
};

class PostgresLedger final : public Ledger {
 public:
  ~PostgresLedger() override {
    writer_.stop();  // commits what is queued while the connection is still open
  }

  Status init(const std::string& conninfo, LedgerSync sync) {
    FATHOM_RETURN_IF_ERROR(
        write_conn_.open(conninfo, sync == LedgerSync::kNormal ? "SET synchronous_commit = off" : ""));
    FATHOM_RETURN_IF_ERROR(read_conn_.open(conninfo));
    // A multi-statement simple query runs as one implicit transaction.
    PgResult r(PQexec(write_conn_.get(), kSchema));
    if (!r.ok()) return unavailable("ledger_postgres: cannot create the ledger schema: " + pg_error(write_conn_.get()));
    writer_.start([this](const std::vector<UsageRecord>& batch) { return commit(batch); });
    return ok_status();
  }

  void submit(UsageRecord r, std::function<void(const Status&)> done) override {
    writer_.submit(std::move(r), std::move(done));
  }

  Result<std::vector<UsageRecord>> rows(const std::string& tenant, const std::string& month) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    const char* params[2] = {tenant.c_str(), month.c_str()};
    PgResult res(
        PQexecParams(read_conn_.get(),
                     "SELECT request_id,time_ms,tenant,key_id,model,upstream,prompt_tokens,"
                     "completion_tokens,cached_tokens,cost_nanos,latency_ms,status,mac,billed_ms,"
                     "billing_granularity_ms FROM usage WHERE tenant=$1 AND month=$2 "
                     "ORDER BY time_ms, request_id",
                     2, nullptr, params, nullptr, nullptr, 0));
    if (!res.ok()) return unavailable("ledger query failed: " + pg_error(read_conn_.get()));
    std::vector<UsageRecord> out;
    const int n = PQntuples(res.r);
    out.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto text = [&](int c) { return std::string(PQgetvalue(res.r, i, c)); };
      auto num = [&](int c) { return std::strtoll(PQgetvalue(res.r, i, c), nullptr, 10); };  // digits from BIGINT columns
      UsageRecord r;
      r.request_id = text(0);
      r.time_ms = num(1);
      r.tenant = text(2);
      r.key_id = text(3);
      r.model = text(4);
      r.upstream = text(5);
      r.prompt_tokens = num(6);
      r.completion_tokens = num(7);
      r.cached_tokens = num(8);
      r.cost_nanos = num(9);
      r.latency_ms = num(10);
      r.status = static_cast<int32_t>(num(11));
      r.mac = text(12);
      r.billed_ms = num(13);
      r.billing_granularity_ms = num(14);
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<int64_t> monthly_tokens(const std::string& tenant, const std::string& month) override {
    std::lock_guard<std::mutex> lock(read_mu_);
    const char* params[2] = {tenant.c_str(), month.c_str()};
    PgResult res(PQexecParams(read_conn_.get(),
                              "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage "
                              "WHERE tenant=$1 AND month=$2",
                              2, nullptr, params, nullptr, nullptr, 0));
    if (!res.ok() || PQntuples(res.r) != 1) return unavailable("ledger query failed: " + pg_error(read_conn_.get()));
    return static_cast<int64_t>(std::strtoll(PQgetvalue(res.r, 0, 0), nullptr, 10));
  }

 private:
  // One transaction, one statement for the whole batch: one WAL flush for many requests.
  Status commit(const std::vector<UsageRecord>& batch) {
    std::string sql =
        "INSERT INTO usage (request_id,time_ms,month,tenant,key_id,model,upstream,prompt_tokens,"
        "completion_tokens,cached_tokens,cost_nanos,latency_ms,status,mac,billed_ms,"
        "billing_granularity_ms) VALUES ";
    std::vector<std::string> values;
    values.reserve(batch.size() * kColumns);
    for (size_t i = 0; i < batch.size(); ++i) {
      const UsageRecord& r = batch[i];
      sql += i ? ",(" : "(";
      for (int c = 0; c < kColumns; ++c) {
        if (c) sql += ',';
        sql += '$' + std::to_string(i * kColumns + static_cast<size_t>(c) + 1);
      }
      sql += ')';
      for (std::string v :
           {r.request_id, std::to_string(r.time_ms), month_of(r.time_ms), r.tenant, r.key_id,
            r.model, r.upstream, std::to_string(r.prompt_tokens),
            std::to_string(r.completion_tokens), std::to_string(r.cached_tokens),
            std::to_string(r.cost_nanos), std::to_string(r.latency_ms), std::to_string(r.status),
            r.mac, std::to_string(r.billed_ms), std::to_string(r.billing_granularity_ms)})
        values.push_back(std::move(v));
    }
    sql += " ON CONFLICT (request_id) DO NOTHING";
    std::vector<const char*> params;
    params.reserve(values.size());
    for (const std::string& v : values) params.push_back(v.c_str());

    PGconn* c = write_conn_.get();
    {
      PgResult begin(PQexec(c, "BEGIN"));
      if (!begin.ok()) return unavailable("ledger: " + pg_error(c));
    }
    PgResult ins(PQexecParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(), nullptr,
                              nullptr, 0));
    if (!ins.ok()) {
      const std::string m = pg_error(c);
      PgResult rollback(PQexec(c, "ROLLBACK"));
      return unavailable("ledger insert failed: " + m);
    }
    PgResult commit(PQexec(c, "COMMIT"));
    if (!commit.ok()) return unavailable("ledger commit failed: " + pg_error(c));
    return ok_status();
  }

  PgConnection write_conn_;  // the writer thread's
  PgConnection read_conn_;   // rows() and monthly_tokens(), under read_mu_
  std::mutex read_mu_;
  GroupCommitter writer_;  // last member: stopped first, before the connections close
};

}  // namespace

Result<std::unique_ptr<Ledger>> open_postgres_ledger(const std::string& conninfo, LedgerSync sync) {
  auto ledger = std::make_unique<PostgresLedger>();
  FATHOM_RETURN_IF_ERROR(ledger->init(conninfo, sync));
  return std::unique_ptr<Ledger>(std::move(ledger));
}

Result<std::unique_ptr<Ledger>> open_ledger(const std::string& sqlite_path, const std::string& postgres_conninfo,
                                            LedgerSync sync) {
  if (!postgres_conninfo.empty()) return open_postgres_ledger(postgres_conninfo, sync);
  return open_sqlite_ledger(sqlite_path, sync);
}

}  // namespace fathom::gateway
