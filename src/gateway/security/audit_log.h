// The audit log: append-only JSON lines for admin and security events (keys created or
// revoked, authentication failures, quota rejections, config reloads). Each record carries
// the hash of the previous one, so editing, deleting or reordering a line is detectable.
//   {"details":{...},"event":"key.created","prev":"<hex>","seq":7,"time":"...","hash":"<hex>"}
// hash = sha256(prev + "\n" + the record without "hash", serialised with sorted keys).
// Several processes may append to one file (the gateway, `fathom keys revoke`): each append
// holds an exclusive flock and links to whatever record is last in the file at that moment.
//
// Rotation: past `max_bytes` (or `max_age_days`) the file is renamed to
// `<path>.<UTC time, 20261205T185300.123Z>` and a new one begins with an "audit.rotated"
// record that links to the rotated file's last one: the chain runs on through every file.
// Retention: rotated files whose last record is older than `retain_days` (at least 180, the
// legal floor) are deleted oldest first, each after an "audit.pruned" record (file, record
// count, last hash and next seq) has been written, so the chain left still verifies and says
// what was removed. Without retain_days nothing is ever deleted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"

namespace fathom::gateway {

/// The chain's digest. Records name theirs ("alg": "sm3"; none means SHA-256), so a log can
/// switch from one to the other and still verify.
enum class AuditHash { kSha256, kSm3 };

/// Hex digest of `data`; SM3 (GB/T 32905) through OpenSSL's provider. Unavailable when the
/// OpenSSL build lacks it.
Result<std::string> audit_digest_hex(AuditHash alg, std::string_view data);
/// "sha256" or "sm3" (config and records); nullopt otherwise.
std::optional<AuditHash> parse_audit_hash(std::string_view name);

struct AuditRotation {
  int64_t max_bytes = int64_t{64} << 20;  ///< rotate past this size; 0: never by size
  int64_t max_age_days = 0;               ///< rotate once the first record is older; 0: never
  int64_t retain_days = 0;                ///< delete older rotated files; 0: keep them all
  static constexpr int64_t kMinRetainDays = 180;
  /// Wall-clock time for records and rotation (tests inject one); empty: the system clock.
  std::function<std::chrono::system_clock::time_point()> now;
};

/// The rotated files of the log at `path`, oldest first.
std::vector<std::string> rotated_audit_files(const std::string& path);

class AuditLog {
 public:
  /// Opens (creating if needed) and checks the current file's chain, linked to the last record
  /// of the newest rotated file; a tampered file is refused. `fathom audit verify` checks all.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path,
                                                AuditHash alg = AuditHash::kSha256,
                                                AuditRotation rotation = {});
  ~AuditLog();

  /// Appends and fsyncs one record. `details` must not contain secrets or prompt text.
  Status append(const std::string& event, const nlohmann::json& details);
  /// The request path's append: queues the record for a writer thread (started on first use)
  /// that appends everything queued under one fsync, in order. A flood of failed logins thus
  /// never stalls an I/O thread on the disk. Beyond kMaxQueued waiting records new ones are
  /// dropped, and an "audit.dropped" record says how many.
  void post(std::string event, nlohmann::json details);
  /// Records in the file after this handle's last append.
  int64_t num_records() const;

  static constexpr size_t kMaxQueued = 100'000;

 private:
  struct Event {
    std::string name;
    nlohmann::json details;
  };
  AuditLog() = default;
  /// Called with the flock held: follows a rotation another process made (the path names a
  /// new file) and re-reads the last record when another process appended.
  Status sync_with_file();
  /// Called with the flock held, before appending: rotates and prunes when due; the records
  /// to write first (audit.pruned, audit.rotated) are added to `events`' front.
  Status maybe_rotate(std::vector<Event>& events);
  /// Files to delete once the batch that records their pruning is durable.
  std::vector<std::string> due_for_pruning(std::vector<Event>& events);
  std::chrono::system_clock::time_point now() const;
  Status write_events(const std::vector<Event>& events);
  void writer_loop();

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Event> queue_;
  int64_t dropped_ = 0;
  bool stopping_ = false;
  std::thread writer_;

  mutable std::mutex mu_;  // the file and the chain state below
  int fd_ = -1;
  std::string path_;
  int64_t known_size_ = 0;  // the file's size after our last look at it
  std::string last_hash_;
  int64_t next_seq_ = 0;
  AuditHash alg_ = AuditHash::kSha256;
  AuditRotation rotation_;
};

struct AuditVerification {
  int64_t num_records = 0;  ///< records verified, in every file
  int64_t first_seq = 0;    ///< > 0 when older files were pruned (an audit.pruned record says so)
  int64_t next_seq = 0;
  int64_t files = 0;
  std::string last_hash;
};

/// Checks every record's hash and link through the rotated files and the current one; the
/// error names the first bad line. A chain that does not start at the genesis must start where
/// an audit.pruned record in it says the pruned files ended. `on_record`, when given, sees each
/// record (without its hash) once it has been verified.
Result<AuditVerification> verify_audit_log(
    const std::string& path, const std::function<void(const nlohmann::json&)>& on_record = {});

}  // namespace fathom::gateway
