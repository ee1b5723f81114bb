#include "server/server_context.h"

#include <chrono>
#include <cstdio>

namespace fathom::server {

std::string ServerContext::next_id(const std::string& prefix) {
  // Unique within the process (counter) and across restarts (start time).
  static const uint64_t kStart = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%llx%06llx", static_cast<unsigned long long>(kStart & 0xffffffffffull),
                static_cast<unsigned long long>(next_id_.fetch_add(1)));
  return prefix + "-" + buf;
}

}  // namespace fathom::server
