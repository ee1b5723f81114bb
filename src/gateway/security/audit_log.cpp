#include "gateway/security/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <utility>

#include "base/logging.h"
#include "base/time_format.h"
#include "gateway/security/api_keys.h"

namespace fathom::gateway {
namespace {

const std::string kGenesis(64, '0');

// The record's own digest ("alg"; absent: SHA-256). An unknown one fails verification.
Result<std::string> record_hash(const std::string& prev,
                                const nlohmann::json& record_without_hash) {
  AuditHash alg = AuditHash::kSha256;
  if (auto it = record_without_hash.find("alg"); it != record_without_hash.end()) {
    const auto parsed = it->is_string() ? parse_audit_hash(it->get<std::string>()) : std::nullopt;
    if (!parsed) return data_loss("unknown digest " + it->dump());
    alg = *parsed;
  }
  return audit_digest_hex(alg, prev + "\n" + record_without_hash.dump());
}

}  // namespace

std::optional<AuditHash> parse_audit_hash(std::string_view name) {
  if (name == "sha256") return AuditHash::kSha256;
  if (name == "sm3") return AuditHash::kSm3;
  return std::nullopt;
}

Result<std::string> audit_digest_hex(AuditHash alg, std::string_view data) {
  if (alg == AuditHash::kSha256) return sha256_hex(std::string(data));
  // Fetched once (OpenSSL 3 looks an algorithm up on every EVP_sm3() call otherwise).
  static EVP_MD* const sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
  if (!sm3) return unavailable("this OpenSSL offers no SM3 digest");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, sm3, nullptr) != 1)
    return internal_error("SM3 digest failed");
  static const char* const kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

Result<AuditVerification> verify_audit_log(
    const std::string& path, const std::function<void(const nlohmann::json&)>& on_record) {
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
    Result<std::string> want = record_hash(v.last_hash, rec);
    if (!want.ok()) return data_loss(where + want.status().message());
    if (*want != hash) return data_loss(where + "hash mismatch: the record was modified");
    v.last_hash = hash;
    ++v.num_records;
    if (on_record) on_record(rec);
  }
  return v;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, AuditHash alg) {
  FATHOM_RETURN_IF_ERROR(audit_digest_hex(alg, "").status());  // the digest is there
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->path_ = path;
  log->alg_ = alg;
  log->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log->fd_ < 0) return invalid_argument(path + ": cannot open for appending");
  // The whole chain is checked once, under the lock, so no other process appends meanwhile.
  if (::flock(log->fd_, LOCK_EX) != 0) return unavailable(path + ": cannot lock");
  Result<AuditVerification> v = verify_audit_log(path);
  struct stat st{};
  ::fstat(log->fd_, &st);
  ::flock(log->fd_, LOCK_UN);
  if (!v.ok()) return v.status();
  log->last_hash_ = v->last_hash;
  log->next_seq_ = v->num_records;
  log->known_size_ = st.st_size;
  return log;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // writes what is queued
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::post(std::string event, nlohmann::json details) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (queue_.size() >= kMaxQueued) {
    ++dropped_;
    return;
  }
  queue_.push_back({std::move(event), std::move(details)});
  if (!writer_.joinable()) writer_ = std::thread([this] { writer_loop(); });
  queue_cv_.notify_one();
}

void AuditLog::writer_loop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (;;) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || dropped_ > 0; });
    if (queue_.empty() && dropped_ == 0 && stopping_) return;
    std::vector<Event> batch;
    batch.swap(queue_);
    if (dropped_ > 0) batch.push_back({"audit.dropped", {{"records", std::exchange(dropped_, 0)}}});
    lock.unlock();
    if (Status s = write_events(batch); !s.ok())
      FATHOM_LOG(kError) << "audit log: " << batch.size() << " record(s) not written: " << s.message();
    lock.lock();
  }
}

Status AuditLog::sync_with_file() {
  struct stat st{};
  if (::fstat(fd_, &st) != 0) return unavailable(path_ + ": cannot stat");
  if (st.st_size == known_size_) return ok_status();
  // Another process appended: its last record is the one to link to.
  std::ifstream in(path_, std::ios::binary);
  const std::streamoff tail = std::min<std::streamoff>(st.st_size, 1 << 16);
  in.seekg(st.st_size - tail);
  std::string text(static_cast<size_t>(tail), '\0');
  in.read(text.data(), tail);
  if (!in || text.empty() || text.back() != '\n') return data_loss(path_ + ": the last record is incomplete");
  const size_t start = text.find_last_of('\n', text.size() - 2);
  const auto rec = nlohmann::json::parse(text.substr(start == std::string::npos ? 0 : start + 1), nullptr, false);
  if (!rec.is_object() || !rec.contains("hash") || !rec["hash"].is_string() || !rec.contains("seq") ||
      !rec["seq"].is_number_integer())
    return data_loss(path_ + ": the last record is not a valid audit record");
  last_hash_ = rec["hash"].get<std::string>();
  next_seq_ = rec["seq"].get<int64_t>() + 1;
  known_size_ = st.st_size;
  return ok_status();
}

Status AuditLog::append(const std::string& event, const nlohmann::json& details) {
  return write_events({{event, details}});
}

Status AuditLog::write_events(const std::vector<Event>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (::flock(fd_, LOCK_EX) != 0) return unavailable(path_ + ": cannot lock");
  Status s = sync_with_file();
  if (s.ok()) {
    std::string hash = last_hash_, lines;
    int64_t seq = next_seq_;
    for (const Event& e : events) {
      nlohmann::json rec = {{"seq", seq++}, {"time", now_rfc3339_ms()}, {"event", e.name},
                            {"details", e.details}, {"prev", hash}};
      if (alg_ == AuditHash::kSm3) rec["alg"] = "sm3";
      hash = *record_hash(hash, rec);  // a known digest, checked at open()
      rec["hash"] = hash;
      lines += rec.dump() + "\n";
    }
    if (::write(fd_, lines.data(), lines.size()) != static_cast<ssize_t>(lines.size()) || ::fsync(fd_) != 0) {
      s = unavailable(path_ + ": audit write failed");
    } else {
      last_hash_ = hash;
      next_seq_ = seq;
      known_size_ += static_cast<int64_t>(lines.size());
    }
  }
  ::flock(fd_, LOCK_UN);
  return s;
}

int64_t AuditLog::num_records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_;
}

}  // namespace fathom::gateway
