// Quotas shared by every gateway replica through Redis. Each admit and release is ONE
// server-side Lua script (check every limit, then charge all of them), so two replicas can
// never both take the last request of a limit: there is no read-then-write across the network.
// Token buckets refill from Redis's own clock, so replicas' clocks need not agree.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/quota/quota_table.h"
#include "gateway/redis_client.h"

namespace fathom::gateway {

class RedisQuota final : public QuotaBackend {
 public:
  /// Connects to host:port; `prefix` namespaces the keys (e.g. one per deployment).
  static Result<std::unique_ptr<RedisQuota>> connect(const std::string& host, int port,
                                                      const std::string& prefix = "fathom:quota:");
  ~RedisQuota() override;

  void set_key_limits(const std::string& key_id, QuotaLimits l) override;
  void set_tenant_limits(const std::string& tenant, QuotaLimits l) override;
  /// Unavailable when Redis cannot be reached (the gateway decides whether to fail open).
  Status admit(const Admission& a, Clock::Duration* retry_after) override;
  void release(const Admission& a, int64_t actual_tokens) override;

 private:
  RedisQuota() = default;
  std::vector<std::string> keys_for(const Admission& a) const;
  std::vector<std::string> limit_args(const Admission& a) const;

  std::mutex mu_;  // the limit tables
  std::unique_ptr<RedisClient> redis_;
  std::string prefix_;
  std::map<std::string, QuotaLimits> key_limits_, tenant_limits_;
};

}  // namespace fathom::gateway
