// Per-key and per-tenant limits, enforced in memory (one gateway replica): requests per
// minute, tokens per minute (pre-checked from the prompt size, settled from real usage),
// concurrent requests and a monthly token budget. admit() either takes everything a request
// needs or nothing; release() settles it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "base/clock.h"
#include "base/status.h"
#include "gateway/quota/token_bucket.h"

namespace fathom::gateway {

struct QuotaLimits {
  int64_t requests_per_minute = 0;  ///< 0 = unlimited (same for every field)
  int64_t tokens_per_minute = 0;
  int64_t max_concurrent = 0;
  int64_t monthly_tokens = 0;
};

struct Admission {
  std::string key_id;
  std::string tenant;
  int64_t estimated_tokens = 0;
};

/// Where quota counters live: in this process (QuotaTable) or shared by every gateway
/// replica (RedisQuota).
class QuotaBackend {
 public:
  virtual ~QuotaBackend() = default;
  virtual void set_key_limits(const std::string& key_id, QuotaLimits l) = 0;
  virtual void set_tenant_limits(const std::string& tenant, QuotaLimits l) = 0;
  /// ResourceExhausted naming the limit, with retry_after set, when any limit is reached.
  /// On success every counter is charged; pair it with exactly one release().
  virtual Status admit(const Admission& a, Clock::Duration* retry_after) = 0;
  /// Settles a finished request with its real token usage.
  virtual void release(const Admission& a, int64_t actual_tokens) = 0;
};

/// One admitted request's quota, released exactly once: by release() with the real usage, or
/// with no usage when it is destroyed first (a handler error, a request that never reached an
/// upstream), so no exit path can leak a tenant's concurrency slot.
class QuotaSlot {
 public:
  QuotaSlot() = default;
  QuotaSlot(QuotaBackend& quota, Admission a) : quota_(&quota), admission_(std::move(a)) {}
  QuotaSlot(QuotaSlot&& o) noexcept : quota_(std::exchange(o.quota_, nullptr)), admission_(std::move(o.admission_)) {}
  QuotaSlot& operator=(QuotaSlot&& o) noexcept {
    if (this != &o) {
      release(0);
      quota_ = std::exchange(o.quota_, nullptr);
      admission_ = std::move(o.admission_);
    }
    return *this;
  }
  QuotaSlot(const QuotaSlot&) = delete;
  QuotaSlot& operator=(const QuotaSlot&) = delete;
  ~QuotaSlot() { release(0); }

  void release(int64_t actual_tokens) {
    if (auto* q = std::exchange(quota_, nullptr)) q->release(admission_, actual_tokens);
  }

 private:
  QuotaBackend* quota_ = nullptr;
  Admission admission_;
};

class QuotaTable final : public QuotaBackend {
 public:
  explicit QuotaTable(const Clock& clock) : clock_(clock) {}

  void set_key_limits(const std::string& key_id, QuotaLimits l) override;
  void set_tenant_limits(const std::string& tenant, QuotaLimits l) override;
  /// Tokens the tenant already used this month (loaded from the ledger at start-up).
  void set_monthly_usage(const std::string& tenant, int64_t tokens);

  Status admit(const Admission& a, Clock::Duration* retry_after) override;
  void release(const Admission& a, int64_t actual_tokens) override;

 private:
  struct Counters {
    QuotaLimits limits;
    std::unique_ptr<TokenBucket> rpm, tpm;
    int64_t in_flight = 0;
    int64_t month_tokens = 0;
  };
  Counters& counters(std::map<std::string, Counters>& m, const std::string& id);
  static void configure(Counters& c, const QuotaLimits& l, const Clock& clock);

  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Counters> keys_, tenants_;
  std::map<std::string, QuotaLimits> key_limits_, tenant_limits_;
};

}  // namespace fathom::gateway
