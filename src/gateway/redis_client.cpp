#include "gateway/redis_client.h"

#include <hiredis/hiredis.h>

namespace fathom::gateway {

void RedisReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

Result<std::unique_ptr<RedisClient>> RedisClient::connect(const std::string& host, int port) {
  std::unique_ptr<RedisClient> c(new RedisClient(host, port));
  std::lock_guard<std::mutex> lock(c->mu_);
  FATHOM_RETURN_IF_ERROR(c->reconnect());
  return c;
}

RedisClient::~RedisClient() {
  if (ctx_) redisFree(ctx_);
}

Status RedisClient::reconnect() {
  if (ctx_) redisFree(ctx_);
  const timeval timeout{2, 0};
  ctx_ = redisConnectWithTimeout(host_.c_str(), port_, timeout);
  if (!ctx_ || ctx_->err) {
    const std::string why = ctx_ ? ctx_->errstr : "cannot allocate a connection";
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    return unavailable("redis " + host_ + ":" + std::to_string(port_) + ": " + why);
  }
  redisSetTimeout(ctx_, timeout);
  return ok_status();
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!ctx_ || ctx_->err) FATHOM_RETURN_IF_ERROR(reconnect());
  auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
  if (!r) return unavailable("redis " + host_ + ":" + std::to_string(port_) + ": " + ctx_->errstr);
  return RedisReply(r);
}

}  // namespace fathom::gateway
