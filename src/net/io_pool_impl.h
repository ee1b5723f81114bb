// IoPool's insides, for src/net only: one io_context per thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "net/io_pool.h"

namespace fathom::net {

struct IoPool::Impl {
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  struct Loop {
    boost::asio::io_context io{1};  // concurrency hint: one thread runs it
    std::optional<Guard> guard;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<unsigned> next{0};
  std::once_flag started, stopped;

  boost::asio::io_context& io(int index) { return loops[static_cast<size_t>(index) % loops.size()]->io; }
  /// Round robin over the loops (for a new connection).
  int pick() { return static_cast<int>(next.fetch_add(1, std::memory_order_relaxed) % loops.size()); }
};

}  // namespace fathom::net
