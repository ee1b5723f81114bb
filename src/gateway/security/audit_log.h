// The audit log: append-only JSON lines for admin and security events (keys created or
// revoked, authentication failures, quota rejections, config reloads). Each record carries
// the hash of the previous one, so editing, deleting or reordering a line is detectable.
//   {"details":{...},"event":"key.created","prev":"<hex>","seq":7,"time":"...","hash":"<hex>"}
// hash = sha256(prev + "\n" + the record without "hash", serialised with sorted keys).
// Several processes may append to one file (the gateway, `fathom keys revoke`): each append
// holds an exclusive flock and links to whatever record is last in the file at that moment.
#pragma once

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

class AuditLog {
 public:
  /// Opens (creating if needed) and checks the existing chain; a tampered file is refused.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path,
                                                AuditHash alg = AuditHash::kSha256);
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
  /// Called with the flock held: re-reads the last record when another process appended.
  Status sync_with_file();
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
};

struct AuditVerification {
  int64_t num_records = 0;
  std::string last_hash;
};

/// Checks every record's hash and link; the error names the first bad line. `on_record`, when
/// given, sees each record (without its hash) once it has been verified.
Result<AuditVerification> verify_audit_log(
    const std::string& path, const std::function<void(const nlohmann::json&)>& on_record = {});

}  // namespace fathom::gateway
