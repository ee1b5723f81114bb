#include "net/io_pool.h"

#include <algorithm>
#include <exception>

#include "base/logging.h"
#include "net/io_pool_impl.h"

namespace fathom::net {

IoPool::IoPool(int num_threads) : impl_(std::make_unique<Impl>()) {
  for (int i = 0; i < std::max(1, num_threads); ++i) {
    impl_->loops.push_back(std::make_unique<Impl::Loop>());
    impl_->loops.back()->guard.emplace(impl_->loops.back()->io.get_executor());
  }
}

IoPool::~IoPool() { stop(); }

int IoPool::size() const { return static_cast<int>(impl_->loops.size()); }

void IoPool::start() {
  std::call_once(impl_->started, [this] {
    for (auto& loop : impl_->loops) {
      loop->thread = std::thread([io = &loop->io] {
        for (;;) {
          try {
            io->run();
            return;
          } catch (const std::exception& e) {  // a handler threw: log, keep serving
            FATHOM_LOG(kError) << "I/O thread: " << e.what();
          }
        }
      });
    }
  });
}

void IoPool::stop() {
  std::call_once(impl_->stopped, [this] {
    for (auto& loop : impl_->loops) {
      loop->guard.reset();
      loop->io.stop();
    }
    for (auto& loop : impl_->loops)
      if (loop->thread.joinable()) loop->thread.join();
  });
}

}  // namespace fathom::net
