// The SQLite ledger's journal: each usage row is appended to a segment file (JSON lines, one
// write(); fdatasync'd when the ledger runs with ledger_sync: full) before its request is
// answered, and moved into SQLite in batches later. A single-row SQLite transaction costs
// ~90 us of CPU on our machines; a journal append ~2 us.
//
// Segments live in one directory, named <pid>-<start ns>-<n>.jsonl. The process appending to
// a segment holds an exclusive flock on it; a segment nobody holds belongs to a process that
// died (or finished) before its rows were moved, and whoever finds it moves them and deletes
// it. Moving is idempotent (rows are keyed by request id), so reading a live segment, as
// `fathom billing report` does, never double-counts.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "gateway/billing/ledger.h"

namespace fathom::gateway {

using IngestFn = std::function<Status(const std::vector<UsageRecord>&)>;

class UsageJournal {
 public:
  /// Creates `dir` if needed. No segment is made until the first append.
  static Result<std::unique_ptr<UsageJournal>> open(const std::string& dir, LedgerSync sync);
  ~UsageJournal();  ///< closes the segment (its rows must have been moved: see rotate())

  /// Appends the rows to this process's segment; they are durable (per LedgerSync) on OK.
  Status append(const std::vector<UsageRecord>& rows);

  /// Starts a new segment at the next append and returns the current one's path ("" when
  /// none), to be deleted once its rows are in the ledger. Call with no append in flight
  /// between the rows being taken and this call (the ledger holds one lock for both).
  std::string rotate();

  /// Moves the rows of every segment in `dir` into the ledger through `ingest`: segments of
  /// dead processes are deleted afterwards, live ones are only read. A torn last line (the
  /// process died inside a write, before answering that request) is skipped.
  static Status recover(const std::string& dir, const IngestFn& ingest);

 private:
  UsageJournal(std::string dir, LedgerSync sync) : dir_(std::move(dir)), sync_(sync) {}
  Status open_segment();
  void close_segment();

  std::string dir_;
  LedgerSync sync_;
  int fd_ = -1;
  std::string path_;
  int64_t next_segment_ = 0;
};

}  // namespace fathom::gateway
