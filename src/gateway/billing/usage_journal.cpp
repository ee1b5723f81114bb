#include "gateway/billing/usage_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace fathom::gateway {
namespace {

namespace fs = std::filesystem;

std::string to_line(const UsageRecord& r) {
  return nlohmann::json{{"id", r.request_id},
                        {"t", r.time_ms},
                        {"tenant", r.tenant},
                        {"key", r.key_id},
                        {"model", r.model},
                        {"up", r.upstream},
                        {"p", r.prompt_tokens},
                        {"c", r.completion_tokens},
                        {"cached", r.cached_tokens},
                        {"cost", r.cost_nanos},
                        {"ms", r.latency_ms},
                        {"status", r.status},
                        {"mac", r.mac},
                        {"billed_ms", r.billed_ms},
                        {"gran_ms", r.billing_granularity_ms}}
             .dump() +
         "\n";
}

std::optional<UsageRecord> from_line(const std::string& line) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    UsageRecord r;
    r.request_id = j.at("id").get<std::string>();
    r.time_ms = j.at("t").get<int64_t>();
    r.tenant = j.at("tenant").get<std::string>();
    r.key_id = j.at("key").get<std::string>();
    r.model = j.at("model").get<std::string>();
    r.upstream = j.at("up").get<std::string>();
    r.prompt_tokens = j.at("p").get<int64_t>();
    r.completion_tokens = j.at("c").get<int64_t>();
    r.cached_tokens = j.at("cached").get<int64_t>();
    r.cost_nanos = j.at("cost").get<int64_t>();
    r.latency_ms = j.at("ms").get<int64_t>();
    r.status = j.at("status").get<int32_t>();
    r.mac = j.value("mac", "");  // journals written before rows were sealed have none
    r.billed_ms = j.value("billed_ms", int64_t{0});  // ... or per_compute billing
    r.billing_granularity_ms = j.value("gran_ms", int64_t{0});
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string errno_text() { return std::strerror(errno); }

Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable(dir + ": " + errno_text());
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? ok_status() : unavailable(dir + ": fsync: " + errno_text());
}

}  // namespace

Result<std::unique_ptr<UsageJournal>> UsageJournal::open(const std::string& dir, LedgerSync sync) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return unavailable(dir + ": cannot create the ledger journal directory: " + ec.message());
  return std::unique_ptr<UsageJournal>(new UsageJournal(dir, sync));
}

UsageJournal::~UsageJournal() { close_segment(); }

Status UsageJournal::open_segment() {
  const auto ns = std::chrono::steady_clock::now().time_since_epoch().count();
  path_ = dir_ + "/" + std::to_string(::getpid()) + "-" + std::to_string(ns) + "-" +
          std::to_string(next_segment_++) + ".jsonl";
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return unavailable(path_ + ": cannot create a ledger journal segment: " + errno_text());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    close_segment();
    return unavailable(path_ + ": cannot lock the new journal segment");
  }
  // The new file's directory entry must outlive a power cut too.
  if (sync_ == LedgerSync::kFull) return sync_dir(dir_);
  return ok_status();
}

void UsageJournal::close_segment() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
  fd_ = -1;
}

Status UsageJournal::append(const std::vector<UsageRecord>& rows) {
  if (fd_ < 0) FATHOM_RETURN_IF_ERROR(open_segment());
  std::string bytes;
  for (const UsageRecord& r : rows) bytes += to_line(r);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unavailable(path_ + ": ledger journal write failed: " + errno_text());
    done += static_cast<size_t>(n);
  }
  if (sync_ == LedgerSync::kFull && ::fdatasync(fd_) != 0)
    return unavailable(path_ + ": ledger journal fdatasync failed: " + errno_text());
  return ok_status();
}

std::string UsageJournal::rotate() {
  std::string previous = fd_ >= 0 ? path_ : "";
  close_segment();
  return previous;
}

Status UsageJournal::recover(const std::string& dir, const IngestFn& ingest) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return ok_status();
  std::vector<std::string> segments;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".jsonl") segments.push_back(entry.path().string());
  std::sort(segments.begin(), segments.end());
  for (const std::string& path : segments) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // deleted meanwhile: its rows were moved
    const bool orphan = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    std::ifstream in(path, std::ios::binary);
    std::vector<UsageRecord> rows;
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) break;  // the last line lacks its '\n': a torn write, skipped
      if (auto r = from_line(line)) rows.push_back(std::move(*r));
    }
    Status s = rows.empty() ? ok_status() : ingest(rows);
    if (s.ok() && orphan) ::unlink(path.c_str());
    ::close(fd);
    FATHOM_RETURN_IF_ERROR(s);
  }
  return ok_status();
}

}  // namespace fathom::gateway
