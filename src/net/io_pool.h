// A fixed set of I/O threads, each running its own event loop. Everything one connection does
// (the client's socket, its upstream sockets, their timers) runs on one loop, so a proxied
// request never changes thread: nginx's and Envoy's worker model. The HTTP server and the
// stream client share a pool; an Exchange says which loop its connection lives on.
#pragma once

#include <memory>

namespace fathom::net {

class IoPool {
 public:
  explicit IoPool(int num_threads);
  ~IoPool();  ///< stops and joins
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  /// Starts the threads (once; later calls do nothing).
  void start();
  /// Stops every loop and joins the threads; pending work is dropped. Idempotent.
  void stop();
  int size() const;

  struct Impl;  // asio types: see net/io_pool_impl.h (inside src/net only)
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::net
