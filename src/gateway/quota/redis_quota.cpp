#include "gateway/quota/redis_quota.h"

#include <hiredis/hiredis.h>

#include <chrono>
#include <ctime>

namespace fathom::gateway {
namespace {

// KEYS: for scope s in {key, tenant}: rpm bucket, tpm bucket, concurrency, month counter.
// ARGV: estimated tokens, then per scope: rpm, tpm, concurrency and monthly limits.
// Returns {1} or {0, scope, limit name, retry-after ms}.
constexpr const char* kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local est = tonumber(ARGV[1])
local minute = 60000000
local function level(key, cap)
  local h = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(h[1]), tonumber(h[2])
  if tokens == nil then return cap end
  return math.min(cap, tokens + (now - ts) * cap / minute)
end
local levels = {}
for s = 0, 1 do
  local k, a = s * 4, 1 + s * 4
  local rpm, tpm, conc, month = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  if conc > 0 and tonumber(redis.call('GET', KEYS[k + 3]) or '0') >= conc then
    return {0, s, 'concurrency', 1000}
  end
  if month > 0 and tonumber(redis.call('GET', KEYS[k + 4]) or '0') >= month then
    return {0, s, 'monthly', 86400000}
  end
  levels[k + 1] = rpm > 0 and level(KEYS[k + 1], rpm) or 0
  if rpm > 0 and levels[k + 1] < 1 then
    return {0, s, 'rpm', math.ceil((1 - levels[k + 1]) * minute / rpm / 1000)}
  end
  levels[k + 2] = tpm > 0 and level(KEYS[k + 2], tpm) or 0
  if tpm > 0 and levels[k + 2] < est then
    return {0, s, 'tpm', math.ceil((math.min(est, tpm) - levels[k + 2]) * minute / tpm / 1000)}
  end
end
for s = 0, 1 do
  local k, a = s * 4, 1 + s * 4
  if tonumber(ARGV[a + 1]) > 0 then
    redis.call('HSET', KEYS[k + 1], 'tokens', tostring(levels[k + 1] - 1), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[k + 1], 120000)
  end
  if tonumber(ARGV[a + 2]) > 0 then
    redis.call('HSET', KEYS[k + 2], 'tokens', tostring(levels[k + 2] - est), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[k + 2], 120000)
  end
  redis.call('INCR', KEYS[k + 3])
  redis.call('PEXPIRE', KEYS[k + 3], 3600000)
end
return {1}
)lua";

// Same KEYS; ARGV: estimated, actual, then per scope the tpm limit.
constexpr const char* kReleaseScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local est, actual = tonumber(ARGV[1]), tonumber(ARGV[2])
for s = 0, 1 do
  local k = s * 4
  local tpm = tonumber(ARGV[3 + s])
  if tpm > 0 then
    local h = redis.call('HMGET', KEYS[k + 2], 'tokens', 'ts')
    local tokens, ts = tonumber(h[1]), tonumber(h[2])
    if tokens ~= nil then
      tokens = math.min(tpm, tokens + (now - ts) * tpm / 60000000)
      tokens = math.min(tpm, tokens + est - actual)
      redis.call('HSET', KEYS[k + 2], 'tokens', tostring(tokens), 'ts', tostring(now))
    end
  end
  if tonumber(redis.call('GET', KEYS[k + 3]) or '0') > 0 then redis.call('DECR', KEYS[k + 3]) end
  redis.call('INCRBY', KEYS[k + 4], actual)
  redis.call('PEXPIRE', KEYS[k + 4], 3456000000)
end
return 1
)lua";

std::string current_month() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m", &tm);
  return buf;
}

Result<RedisReply> run(RedisClient& redis, const char* script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"EVAL", script, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return redis.command(argv);
}

}  // namespace

Result<std::unique_ptr<RedisQuota>> RedisQuota::connect(const std::string& host, int port,
                                                        const std::string& prefix) {
  std::unique_ptr<RedisQuota> q(new RedisQuota());
  FATHOM_ASSIGN_OR_RETURN(q->redis_, RedisClient::connect(host, port));
  q->prefix_ = prefix;
  return q;
}

RedisQuota::~RedisQuota() = default;

void RedisQuota::set_key_limits(const std::string& key_id, QuotaLimits l) {
  std::lock_guard<std::mutex> lock(mu_);
  key_limits_[key_id] = l;
}

void RedisQuota::set_tenant_limits(const std::string& tenant, QuotaLimits l) {
  std::lock_guard<std::mutex> lock(mu_);
  tenant_limits_[tenant] = l;
}

std::vector<std::string> RedisQuota::keys_for(const Admission& a) const {
  const std::string month = current_month();
  std::vector<std::string> keys;
  for (const std::string& scope : {"key:" + a.key_id, "tenant:" + a.tenant})
    for (const std::string& what : {std::string("rpm"), std::string("tpm"), std::string("conc"), "month:" + month})
      keys.push_back(prefix_ + scope + ":" + what);
  return keys;
}

std::vector<std::string> RedisQuota::limit_args(const Admission& a) const {
  std::vector<std::string> args = {std::to_string(a.estimated_tokens)};
  for (const auto* table : {&key_limits_, &tenant_limits_}) {
    const auto it = table->find(table == &key_limits_ ? a.key_id : a.tenant);
    const QuotaLimits l = it == table->end() ? QuotaLimits{} : it->second;
    for (int64_t v : {l.requests_per_minute, l.tokens_per_minute, l.max_concurrent, l.monthly_tokens})
      args.push_back(std::to_string(v));
  }
  return args;
}

Status RedisQuota::admit(const Admission& a, Clock::Duration* retry_after) {
  std::lock_guard<std::mutex> lock(mu_);
  *retry_after = Clock::Duration::zero();
  FATHOM_ASSIGN_OR_RETURN(RedisReply reply, run(*redis_, kAdmitScript, keys_for(a), limit_args(a)));
  const redisReply* r = reply.get();
  Status out;
  if (r->type == REDIS_REPLY_ERROR) {
    out = unavailable(std::string("redis script failed: ") + r->str);
  } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 && r->element[0]->integer == 0) {
    const std::string who = r->element[1]->integer == 0 ? "key" : "tenant";
    const std::string what = r->element[2]->str;
    *retry_after = std::chrono::milliseconds(r->element[3]->integer);
    const char* desc = what == "rpm"           ? "requests per minute"
                       : what == "tpm"         ? "tokens per minute"
                       : what == "concurrency" ? "concurrent requests"
                                               : "monthly token budget";
    out = resource_exhausted(who + " limit on " + desc + " reached");
  }
  return out;
}

void RedisQuota::release(const Admission& a, int64_t actual_tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> args = {std::to_string(a.estimated_tokens), std::to_string(actual_tokens)};
  for (const auto* table : {&key_limits_, &tenant_limits_}) {
    const auto it = table->find(table == &key_limits_ ? a.key_id : a.tenant);
    args.push_back(std::to_string(it == table->end() ? 0 : it->second.tokens_per_minute));
  }
  (void)run(*redis_, kReleaseScript, keys_for(a), args);
}

}  // namespace fathom::gateway
