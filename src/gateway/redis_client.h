// One blocking connection to Redis (hiredis), shared under a mutex by the quota and the
// response cache. A connection that broke (Redis restarted, network cut) is replaced at the
// next command, so a Redis that comes back is used again without restarting the gateway.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

struct redisContext;
struct redisReply;

namespace fathom::gateway {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisClient {
 public:
  static Result<std::unique_ptr<RedisClient>> connect(const std::string& host, int port);
  ~RedisClient();

  /// Sends one command (binary-safe arguments) and returns its reply, which may be a Redis
  /// error reply; Unavailable when Redis cannot be reached.
  Result<RedisReply> command(const std::vector<std::string>& argv);

 private:
  RedisClient(std::string host, int port) : host_(std::move(host)), port_(port) {}
  Status reconnect();  // called with mu_ held

  std::string host_;
  int port_;
  std::mutex mu_;
  redisContext* ctx_ = nullptr;
};

}  // namespace fathom::gateway
