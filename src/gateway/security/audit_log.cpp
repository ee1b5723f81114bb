#include "gateway/security/audit_log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include "gateway/security/api_keys.h"

namespace fathom::gateway {
namespace {

const std::string kGenesis(64, '0');

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03lldZ", buf, static_cast<long long>(ms));
  return out;
}

std::string record_hash(const std::string& prev, const nlohmann::json& record_without_hash) {
  return sha256_hex(prev + "\n" + record_without_hash.dump());
}

}  // namespace

Result<AuditVerification> verify_audit_log(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found(path + ": cannot open");
  AuditVerification v;
  v.last_hash = kGenesis;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    nlohmann::json rec;
    try {
      rec = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      return data_loss(where + "not a JSON record (truncated or edited)");
    }
    if (!rec.is_object() || !rec.contains("hash") || !rec["hash"].is_string() || !rec.contains("prev") ||
        !rec.contains("seq"))
      return data_loss(where + "record lacks hash, prev or seq");
    const std::string hash = rec["hash"].get<std::string>();
    rec.erase("hash");
    if (rec["prev"] != v.last_hash)
      return data_loss(where + "chain broken: prev does not match the previous record (deleted or reordered lines)");
    if (rec["seq"] != v.num_records)
      return data_loss(where + "sequence number " + rec["seq"].dump() + " expected " + std::to_string(v.num_records));
    if (record_hash(v.last_hash, rec) != hash)
      return data_loss(where + "hash mismatch: the record was modified");
    v.last_hash = hash;
    ++v.num_records;
  }
  return v;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  AuditVerification v;
  if (std::ifstream(path).good()) {
    FATHOM_ASSIGN_OR_RETURN(v, verify_audit_log(path));
  } else {
    v.last_hash = kGenesis;
  }
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->file_ = std::fopen(path.c_str(), "a");
  if (!log->file_) return invalid_argument(path + ": cannot open for appending");
  log->path_ = path;
  log->last_hash_ = v.last_hash;
  log->next_seq_ = v.num_records;
  return log;
}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

Status AuditLog::append(const std::string& event, const nlohmann::json& details) {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json rec = {{"seq", next_seq_}, {"time", now_rfc3339()}, {"event", event},
                        {"details", details}, {"prev", last_hash_}};
  const std::string hash = record_hash(last_hash_, rec);
  rec["hash"] = hash;
  const std::string line = rec.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0 ||
      ::fsync(fileno(file_)) != 0)
    return unavailable(path_ + ": audit write failed");
  last_hash_ = hash;
  ++next_seq_;
  return ok_status();
}

int64_t AuditLog::num_records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_;
}

}  // namespace fathom::gateway
