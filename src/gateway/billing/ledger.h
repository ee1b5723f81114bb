// The usage ledger: one row per request (tenant, key id, model, upstream, tokens, cost,
// latency, status, time). A row is durable before its request is answered, so a crash loses
// nothing that was acknowledged, and flushes are shared by concurrent requests (a group
// commit); the request id is the primary key, so a row written twice counts once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace fathom::gateway {

struct UsageRecord {
  std::string request_id;
  int64_t time_ms = 0;  ///< unix epoch milliseconds
  std::string tenant;
  std::string key_id;
  std::string model;
  std::string upstream;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t cost_nanos = 0;
  int64_t latency_ms = 0;
  int32_t status = 0;  ///< HTTP status returned to the client
  /// per_compute plans: the request's time on its instance rounded up to the granularity (ms),
  /// and that granularity; both 0 for per-token plans.
  int64_t billed_ms = 0;
  int64_t billing_granularity_ms = 0;
  std::string mac;     ///< seal of usage_row_text() with data protection on; "" otherwise
};

/// The bytes a row's MAC covers: every field but the MAC, as a JSON array (the per_compute
/// fields only when set, so rows sealed before they existed still verify).
std::string usage_row_text(const UsageRecord& r);

/// How much a committed row survives. kFull: a machine crash or power loss (an fsync per group
/// commit; SQLite synchronous=FULL, PostgreSQL synchronous_commit=on). kNormal: a crash or
/// SIGKILL of the gateway, not of the machine (SQLite synchronous=NORMAL in WAL mode: the
/// commit is in the OS page cache; PostgreSQL synchronous_commit=off: the server has it). On
/// a disk whose fsync takes milliseconds, kNormal takes that off every response's latency.
enum class LedgerSync { kFull, kNormal };

/// "full" or "normal" (the config's ledger_sync).
Result<LedgerSync> parse_ledger_sync(const std::string& s);

/// "2026-11" for a unix time in milliseconds (UTC).
std::string month_of(int64_t time_ms);

/// Rows acknowledged (durable in the journal) but not yet in the database.
struct LedgerBacklog {
  int64_t rows = 0;
  int64_t oldest_time_ms = 0;  ///< time_ms of the oldest such row; 0 when none
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  /// Writes the row; `done` runs once it is durable (see LedgerSync) or the write failed:
  /// on the ledger's writer thread when that needs an fsync or a database round trip, else
  /// inline (SQLite with ledger_sync normal: a journal append). The request path never
  /// blocks on a disk flush.
  virtual void submit(UsageRecord r, std::function<void(const Status&)> done) = 0;
  /// Blocks until the row is committed (or the write failed).
  Status record(const UsageRecord& r);
  /// Every row of a tenant in a month ("2026-11"), oldest first.
  virtual Result<std::vector<UsageRecord>> rows(const std::string& tenant, const std::string& month) = 0;
  /// prompt + completion tokens of a tenant in a month (for volume tiers and budgets).
  virtual Result<int64_t> monthly_tokens(const std::string& tenant, const std::string& month) = 0;
  /// What the mover has still to move (SQLite: the journal's rows; PostgreSQL commits before it
  /// acknowledges, so none).
  virtual LedgerBacklog backlog() const { return {}; }
};

/// SQLite in WAL mode; the embedded default.
Result<std::unique_ptr<Ledger>> open_sqlite_ledger(const std::string& path, LedgerSync sync = LedgerSync::kFull);

/// PostgreSQL (libpq conninfo, e.g. "host=db port=5432 dbname=fathom user=gw"), for several
/// replicas sharing one ledger. Creates the table and its indexes on first use.
Result<std::unique_ptr<Ledger>> open_postgres_ledger(const std::string& conninfo, LedgerSync sync = LedgerSync::kFull);

/// The configured ledger: PostgreSQL when `postgres_conninfo` is set, else SQLite at `sqlite_path`.
Result<std::unique_ptr<Ledger>> open_ledger(const std::string& sqlite_path, const std::string& postgres_conninfo,
                                            LedgerSync sync = LedgerSync::kFull);

}  // namespace fathom::gateway
