#include "gateway/quota/quota_table.h"

#include <algorithm>

namespace fathom::gateway {

void QuotaTable::configure(Counters& c, const QuotaLimits& l, const Clock& clock) {
  c.limits = l;
  c.rpm = std::make_unique<TokenBucket>(TokenBucketConfig{l.requests_per_minute, std::chrono::minutes(1)}, clock);
  c.tpm = std::make_unique<TokenBucket>(TokenBucketConfig{l.tokens_per_minute, std::chrono::minutes(1)}, clock);
}

QuotaTable::Counters& QuotaTable::counters(std::map<std::string, Counters>& m, const std::string& id) {
  auto it = m.find(id);
  if (it != m.end()) return it->second;
  Counters& c = m[id];
  const auto& limits = &m == &keys_ ? key_limits_ : tenant_limits_;
  auto l = limits.find(id);
  configure(c, l == limits.end() ? QuotaLimits{} : l->second, clock_);
  return c;
}

void QuotaTable::set_key_limits(const std::string& key_id, QuotaLimits l) {
  std::lock_guard<std::mutex> lock(mu_);
  key_limits_[key_id] = l;
  configure(counters(keys_, key_id), l, clock_);
}

void QuotaTable::set_tenant_limits(const std::string& tenant, QuotaLimits l) {
  std::lock_guard<std::mutex> lock(mu_);
  tenant_limits_[tenant] = l;
  configure(counters(tenants_, tenant), l, clock_);
}

void QuotaTable::set_monthly_usage(const std::string& tenant, int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  counters(tenants_, tenant).month_tokens = tokens;
}

Status QuotaTable::admit(const Admission& a, Clock::Duration* retry_after) {
  std::lock_guard<std::mutex> lock(mu_);
  Counters& k = counters(keys_, a.key_id);
  Counters& t = counters(tenants_, a.tenant);
  *retry_after = Clock::Duration::zero();
  struct Scope {
    Counters* c;
    const char* who;
  };
  // Check everything first, then charge: a rejected request leaves no trace.
  for (const Scope s : {Scope{&k, "key"}, Scope{&t, "tenant"}}) {
    const QuotaLimits& l = s.c->limits;
    const std::string who = s.who;
    if (l.max_concurrent > 0 && s.c->in_flight >= l.max_concurrent)
      return resource_exhausted(who + " limit of " + std::to_string(l.max_concurrent) +
                                " concurrent requests reached");
    if (l.monthly_tokens > 0 && s.c->month_tokens >= l.monthly_tokens) {
      *retry_after = std::chrono::hours(24);
      return resource_exhausted(who + " monthly token budget of " + std::to_string(l.monthly_tokens) +
                                " is used up");
    }
    if (l.requests_per_minute > 0 && s.c->rpm->available() < 1.0) {
      *retry_after = s.c->rpm->time_until(1);
      return resource_exhausted(who + " limit of " + std::to_string(l.requests_per_minute) +
                                " requests per minute reached");
    }
    if (l.tokens_per_minute > 0 && s.c->tpm->available() < static_cast<double>(a.estimated_tokens)) {
      *retry_after = s.c->tpm->time_until(std::min(a.estimated_tokens, l.tokens_per_minute));
      return resource_exhausted(who + " limit of " + std::to_string(l.tokens_per_minute) +
                                " tokens per minute reached");
    }
  }
  for (Counters* c : {&k, &t}) {
    (void)c->rpm->try_consume(1);
    c->tpm->force_consume(a.estimated_tokens);
    ++c->in_flight;
  }
  return ok_status();
}

void QuotaTable::release(const Admission& a, int64_t actual_tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Counters* c : {&counters(keys_, a.key_id), &counters(tenants_, a.tenant)}) {
    c->in_flight = std::max<int64_t>(0, c->in_flight - 1);
    if (actual_tokens < a.estimated_tokens) {
      c->tpm->refund(a.estimated_tokens - actual_tokens);
    } else {
      c->tpm->force_consume(actual_tokens - a.estimated_tokens);
    }
    c->month_tokens += actual_tokens;
  }
}

}  // namespace fathom::gateway
