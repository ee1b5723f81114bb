// The two load shapes of fathom_loadgen. Each runs its workers (one io_context and thread each,
// with an even share of the load) to the end, prints a summary and the final RESULT line, and
// returns the process exit status.
#pragma once

#include <cstdint>

#include "http_conn.h"
#include "options.h"

namespace fathom::loadgen {

/// Fixed-rate, open-loop: --rate requests/s over a pool of --connections keep-alive connections.
int run_rate(const Options& opt, const Target& target);

/// Closed-loop streams: --streams connections, each running one streaming request after another.
int run_streams(const Options& opt, const Target& target);

struct ErrorCounts {
  int64_t connect = 0;
  int64_t read_write = 0;
  int64_t status = 0;   ///< non-2xx responses
  int64_t timeout = 0;

  int64_t total() const { return connect + read_write + status + timeout; }
  void add(const ErrorCounts& o) {
    connect += o.connect;
    read_write += o.read_write;
    status += o.status;
    timeout += o.timeout;
  }
  void count(Failure f) {
    if (f == Failure::Timeout) ++timeout;
    else ++read_write;
  }
};

/// Worker `index`'s share of `total` when split `parts` ways (the first ones get the remainder).
inline int share_of(int total, int parts, int index) { return total / parts + (index < total % parts ? 1 : 0); }

inline int64_t micros(Clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

inline bool is_2xx(int status) { return status >= 200 && status < 300; }

}  // namespace fathom::loadgen
