#include "gateway/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/time_format.h"

namespace fathom::gateway {

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& destination) {
  std::unique_ptr<AccessLog> log(new AccessLog());
  if (destination == "off") return log;
  if (destination == "stdout" || destination == "stderr") {
    log->fd_ = destination == "stdout" ? STDOUT_FILENO : STDERR_FILENO;
  } else {
    log->fd_ = ::open(destination.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log->fd_ < 0) return invalid_argument("access_log: cannot open " + destination + ": " + std::strerror(errno));
    log->owns_fd_ = true;
  }
  log->writer_ = std::thread([raw = log.get()] { raw->loop(); });
  return log;
}

AccessLog::~AccessLog() {
  if (writer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    writer_.join();
  }
  if (owns_fd_) ::close(fd_);
}

void AccessLog::write(const AccessRecord& r) {
  if (fd_ < 0) return;
  const UsageRecord& u = r.usage;
  nlohmann::json j = {{"ts", now_rfc3339_ms()},
                      {"request_id", u.request_id},
                      {"method", r.method},
                      {"path", r.path},
                      {"status", u.status},
                      {"tenant", u.tenant},
                      {"key_id", u.key_id},
                      {"model", u.model},
                      {"upstream", u.upstream},
                      {"stream", r.stream},
                      {"attempts", r.attempts},
                      {"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"cached_tokens", u.cached_tokens},
                      {"cost_nanos", u.cost_nanos},
                      {"duration_ms", r.duration_ms},
                      {"upstream_ms", r.upstream_ms}};
  if (r.ttft_ms) j["ttft_ms"] = *r.ttft_ms;
  if (!r.cache.empty()) j["cache"] = r.cache;
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.zone.empty()) j["zone"] = r.zone;
  if (!r.route.empty()) j["route"] = r.route;
  if (r.redacted > 0) j["redacted"] = r.redacted;
  if (r.cold_start_ms) j["cold_start_ms"] = *r.cold_start_ms;
  if (r.instance_ms) j["instance_ms"] = *r.instance_ms;
  if (u.billing_granularity_ms > 0) {
    j["billed_ms"] = u.billed_ms;
    j["billing_granularity_ms"] = u.billing_granularity_ms;
  }
  if (const auto& c = r.classification) {
    j["sensitive"] = c->sensitive;
    if (c->sensitive) {
      nlohmann::json d = classify::describe(*c);
      j["sensitive_kinds"] = std::move(d["kinds"]);
      j["sensitive_reasons"] = std::move(d["reasons"]);
    }
  }
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  buffer_ += line;
}

void AccessLog::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; });
    std::string bytes;
    bytes.swap(buffer_);
    lock.unlock();
    flush(bytes);
    lock.lock();
  }
  flush(buffer_);
}

void AccessLog::flush(std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk or closed pipe: access lines are dropped, requests are not
    done += static_cast<size_t>(n);
  }
}

}  // namespace fathom::gateway
