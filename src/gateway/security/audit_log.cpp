#include "gateway/security/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <tuple>
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

namespace {

// Where a file's chain starts and ends.
struct FileChain {
  std::string first_prev, last_hash;
  int64_t first_seq = 0, next_seq = 0, records = 0;
};

// Verifies one file. `start`: the hash and seq the file must continue from; nullopt: the first
// record's own prev and seq are taken as the anchor (the oldest file kept).
Result<FileChain> verify_file(const std::string& path,
                              const std::optional<std::pair<std::string, int64_t>>& start,
                              const std::function<void(const nlohmann::json&)>& on_record) {
  std::ifstream in(path);
  if (!in) return not_found(path + ": cannot open");
  FileChain c;
  if (start) std::tie(c.first_prev, c.first_seq) = *start;
  c.last_hash = c.first_prev;
  c.next_seq = c.first_seq;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    nlohmann::json rec = nlohmann::json::parse(line, nullptr, false);
    if (rec.is_discarded()) return data_loss(where + "not a JSON record (truncated or edited)");
    if (!rec.is_object() || !rec.contains("hash") || !rec["hash"].is_string() ||
        !rec.contains("prev") || !rec["prev"].is_string() || !rec.contains("seq") ||
        !rec["seq"].is_number_integer())
      return data_loss(where + "record lacks hash, prev or seq");
    const std::string hash = rec["hash"].get<std::string>();
    rec.erase("hash");
    if (line_no == 1 && !start) {
      c.first_prev = c.last_hash = rec["prev"].get<std::string>();
      c.first_seq = c.next_seq = rec["seq"].get<int64_t>();
    }
    if (rec["prev"] != c.last_hash)
      return data_loss(where + "chain broken: prev does not match the previous record (deleted or reordered lines)");
    if (rec["seq"] != c.next_seq)
      return data_loss(where + "sequence number " + rec["seq"].dump() + " expected " +
                       std::to_string(c.next_seq));
    Result<std::string> want = record_hash(c.last_hash, rec);
    if (!want.ok()) return data_loss(where + want.status().message());
    if (*want != hash) return data_loss(where + "hash mismatch: the record was modified");
    c.last_hash = hash;
    ++c.next_seq;
    ++c.records;
    if (on_record) on_record(rec);
  }
  return c;
}

// A record's "time"; nullopt when it has none that parses.
std::optional<std::chrono::system_clock::time_point> time_of(const nlohmann::json& rec) {
  std::chrono::system_clock::time_point t;
  if (!rec.is_object() || !rec.contains("time") || !rec["time"].is_string() ||
      !parse_rfc3339(rec["time"].get<std::string>(), t))
    return std::nullopt;
  return t;
}

// What the chain needs of a file's last record: its hash, the next seq, and its time.
struct Tail {
  std::string hash;
  int64_t next_seq = 0;
  std::optional<std::chrono::system_clock::time_point> time;
};

// The last record of a file, read from its tail; nullopt for an empty file.
Result<std::optional<Tail>> tail_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return not_found(path + ": cannot open");
  const std::streamoff size = in.tellg();
  if (size == 0) return std::optional<Tail>();
  const std::streamoff tail = std::min<std::streamoff>(size, 1 << 16);
  in.seekg(size - tail);
  std::string text(static_cast<size_t>(tail), '\0');
  in.read(text.data(), tail);
  if (!in || text.back() != '\n') return data_loss(path + ": the last record is incomplete");
  const size_t start = text.find_last_of('\n', text.size() - 2);
  const auto rec = nlohmann::json::parse(text.substr(start == std::string::npos ? 0 : start + 1),
                                         nullptr, false);
  if (!rec.is_object() || !rec.contains("hash") || !rec["hash"].is_string() ||
      !rec.contains("seq") || !rec["seq"].is_number_integer())
    return data_loss(path + ": the last record is not a valid audit record");
  return std::optional(
      Tail{rec["hash"].get<std::string>(), rec["seq"].get<int64_t>() + 1, time_of(rec)});
}

// The time of a file's first record; nullopt when it has none or it cannot be read.
std::optional<std::chrono::system_clock::time_point> first_record_time(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return time_of(nlohmann::json::parse(line, nullptr, false));
}

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::vector<std::string> rotated_audit_files(const std::string& path) {
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : ".";
  const std::string prefix = p.filename().string() + ".";
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    // <name>.YYYYMMDDTHHMMSS.mmmZ, maybe with -N when two rotations fell in one millisecond
    if (!name.starts_with(prefix) || name.size() < prefix.size() + 20) continue;
    const std::string stamp = name.substr(prefix.size());
    if (stamp[8] != 'T' || stamp[15] != '.' || stamp[19] != 'Z') continue;
    out.push_back((dir / name).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<AuditVerification> verify_audit_log(
    const std::string& path, const std::function<void(const nlohmann::json&)>& on_record) {
  std::vector<std::string> files = rotated_audit_files(path);
  if (std::filesystem::exists(path)) files.push_back(path);
  if (files.empty()) return not_found(path + ": cannot open");
  // Where audit.pruned records say the deleted files ended: the only other valid start.
  std::vector<std::pair<std::string, int64_t>> pruned_ends;
  const auto seen = [&](const nlohmann::json& rec) {
    if (rec.value("event", "") == "audit.pruned" && rec.contains("details") &&
        rec["details"].is_object()) {
      const nlohmann::json& d = rec["details"];
      if (d.contains("last_hash") && d["last_hash"].is_string() && d.contains("next_seq") &&
          d["next_seq"].is_number_integer())
        pruned_ends.emplace_back(d["last_hash"].get<std::string>(), d["next_seq"].get<int64_t>());
    }
    if (on_record) on_record(rec);
  };
  AuditVerification v;
  std::optional<std::pair<std::string, int64_t>> link, start;
  for (const std::string& file : files) {
    FATHOM_ASSIGN_OR_RETURN(FileChain c, verify_file(file, link, seen));
    if (!link) {
      if (c.records == 0) c.last_hash = kGenesis;  // an empty log
      start.emplace(c.records == 0 ? kGenesis : c.first_prev, c.first_seq);
    }
    link.emplace(c.last_hash, c.next_seq);
    v.num_records += c.records;
    ++v.files;
  }
  v.first_seq = start->second;
  if (*start != std::pair(kGenesis, int64_t{0}) &&
      std::find(pruned_ends.begin(), pruned_ends.end(), *start) == pruned_ends.end())
    return data_loss(
        files.front() + ": the chain starts at seq " + std::to_string(v.first_seq) +
        " and no audit.pruned record accounts for the records before it (deleted files?)");
  v.last_hash = link->first;
  v.next_seq = link->second;
  return v;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path, AuditHash alg,
                                                 AuditRotation rotation) {
  FATHOM_RETURN_IF_ERROR(audit_digest_hex(alg, "").status());  // the digest is there
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->path_ = path;
  log->alg_ = alg;
  log->rotation_ = std::move(rotation);
  log->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log->fd_ < 0) return invalid_argument(path + ": cannot open for appending");
  // The current file is checked once, under the lock, so no other process appends meanwhile;
  // it must continue the newest rotated file's chain.
  if (::flock(log->fd_, LOCK_EX) != 0) return unavailable(path + ": cannot lock");
  std::optional<std::pair<std::string, int64_t>> link;
  Status s = ok_status();
  if (const auto rotated = rotated_audit_files(path); !rotated.empty()) {
    auto tail = tail_of(rotated.back());
    if (!tail.ok())
      s = tail.status();
    else if (*tail)
      link.emplace((*tail)->hash, (*tail)->next_seq);
  }
  if (!link) link.emplace(kGenesis, 0);
  Result<FileChain> c = s.ok() ? verify_file(path, link, {}) : Result<FileChain>(s);
  struct stat st{};
  ::fstat(log->fd_, &st);
  ::flock(log->fd_, LOCK_UN);
  if (!c.ok()) return c.status();
  log->last_hash_ = c->last_hash;
  log->next_seq_ = c->next_seq;
  log->known_size_ = st.st_size;
  return log;
}

std::chrono::system_clock::time_point AuditLog::now() const {
  return rotation_.now ? rotation_.now() : std::chrono::system_clock::now();
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
  // Another process rotated: the path names a new file. Lock it before letting go of the old
  // one, so the rotating process's first records are there to link to.
  struct stat ours {
  }, named{};
  if (::fstat(fd_, &ours) != 0) return unavailable(path_ + ": cannot stat");
  if (::stat(path_.c_str(), &named) != 0 || named.st_ino != ours.st_ino ||
      named.st_dev != ours.st_dev) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return unavailable(path_ + ": cannot reopen after a rotation");
    if (::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      return unavailable(path_ + ": cannot lock");
    }
    ::close(fd_);  // releases the old file's lock
    fd_ = fd;
    known_size_ = -1;
    if (::fstat(fd_, &ours) != 0) return unavailable(path_ + ": cannot stat");
  }
  if (ours.st_size == known_size_) return ok_status();
  // Another process appended (or rotated): its last record is the one to link to; in an empty
  // file, the newest rotated file's last record.
  std::string from = path_;
  if (ours.st_size == 0) {
    const auto rotated = rotated_audit_files(path_);
    if (rotated.empty()) {
      known_size_ = 0;
      return ok_status();
    }
    from = rotated.back();
  }
  FATHOM_ASSIGN_OR_RETURN(auto tail, tail_of(from));
  if (tail) std::tie(last_hash_, next_seq_) = std::tie(tail->hash, tail->next_seq);
  known_size_ = ours.st_size;
  return ok_status();
}

std::vector<std::string> AuditLog::due_for_pruning(std::vector<Event>& events) {
  std::vector<std::string> doomed;
  if (rotation_.retain_days <= 0) return doomed;
  const auto cutoff = now() - std::chrono::hours(24) * rotation_.retain_days;
  for (const std::string& file : rotated_audit_files(path_)) {
    const auto tail = tail_of(file);
    if (!tail.ok() || !*tail || !(*tail)->time || *(*tail)->time >= cutoff)
      break;  // oldest first: the rest are newer
    events.push_back({"audit.pruned",
                      {{"file", base_name(file)},
                       {"last_record_time", format_rfc3339_ms(*(*tail)->time)},
                       {"last_hash", (*tail)->hash},
                       {"next_seq", (*tail)->next_seq},
                       {"retain_days", rotation_.retain_days}}});
    doomed.push_back(file);
  }
  return doomed;
}

Status AuditLog::maybe_rotate(std::vector<Event>& events) {
  const char* reason = nullptr;
  if (rotation_.max_bytes > 0 && known_size_ >= rotation_.max_bytes) {
    reason = "size";
  } else if (rotation_.max_age_days > 0 && known_size_ > 0) {
    const auto first = first_record_time(path_);
    if (first && now() - *first >= std::chrono::hours(24) * rotation_.max_age_days) reason = "age";
  }
  if (!reason) return ok_status();
  const std::string stamp_base = path_ + "." + [&] {
    std::string t = format_rfc3339_ms(now());  // 2026-12-05T18:53:00.123Z -> 20261205T185300.123Z
    t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == '-' || c == ':'; }),
            t.end());
    return t;
  }();
  std::string rotated = stamp_base;
  for (int n = 1; std::filesystem::exists(rotated); ++n)
    rotated = stamp_base + "-" + std::to_string(n);
  if (::rename(path_.c_str(), rotated.c_str()) != 0)
    return unavailable(path_ + ": cannot rotate to " + rotated);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
    if (fd >= 0) ::close(fd);
    return unavailable(path_ + ": cannot start a new file after rotating");
  }
  ::close(fd_);  // others waiting on the rotated file's lock now find the new file
  fd_ = fd;
  struct stat st{};
  ::fstat(fd_, &st);
  known_size_ = st.st_size;  // 0, unless another process already wrote to it
  if (known_size_ > 0) {
    FATHOM_ASSIGN_OR_RETURN(auto tail, tail_of(path_));
    if (tail) std::tie(last_hash_, next_seq_) = std::tie(tail->hash, tail->next_seq);
  }
  events.insert(events.begin(), {"audit.rotated",
                                 {{"previous_file", base_name(rotated)},
                                  {"previous_last_hash", last_hash_},
                                  {"reason", reason}}});
  return ok_status();
}

Status AuditLog::append(const std::string& event, const nlohmann::json& details) {
  return write_events({{event, details}});
}

Status AuditLog::write_events(const std::vector<Event>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (::flock(fd_, LOCK_EX) != 0) return unavailable(path_ + ": cannot lock");
  std::vector<Event> events;
  std::vector<std::string> doomed;
  Status s = sync_with_file();
  if (s.ok()) s = maybe_rotate(events);
  if (s.ok()) {
    if (!events.empty()) doomed = due_for_pruning(events);  // checked when a file is rotated
    events.insert(events.end(), batch.begin(), batch.end());
    std::string hash = last_hash_, lines;
    int64_t seq = next_seq_;
    const std::string time = format_rfc3339_ms(now());
    for (const Event& e : events) {
      nlohmann::json rec = {{"seq", seq++},
                            {"time", time},
                            {"event", e.name},
                            {"details", e.details},
                            {"prev", hash}};
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
      // The audit.pruned records are durable: now the files may go.
      for (const std::string& file : doomed)
        if (::unlink(file.c_str()) != 0) FATHOM_LOG(kError) << "audit log: cannot delete " << file;
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
