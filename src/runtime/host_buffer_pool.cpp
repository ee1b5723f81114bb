#include "runtime/host_buffer_pool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace fathom::runtime {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

struct HostBufferPool::State {
  explicit State(size_t cap) : idle_cap(cap) {}
  ~State() {
    for (const auto& [bytes, p] : idle) std::free(p);
  }

  // A pooled block's owner: back to `idle` when it fits under the cap, else freed.
  void release(void* p, size_t bytes) {
    {
      const std::lock_guard<std::mutex> lock(mu);
      if (idle_bytes + bytes <= idle_cap) {
        idle.emplace(bytes, p);
        idle_bytes += bytes;
        return;
      }
    }
    std::free(p);
  }

  mutable std::mutex mu;
  const size_t idle_cap;
  std::multimap<size_t, void*> idle;  ///< released blocks by size
  size_t idle_bytes = 0;
};

HostBufferPool::HostBufferPool(size_t idle_cap_bytes)
    : state_(std::make_shared<State>(idle_cap_bytes)) {}

HostBufferPool::~HostBufferPool() = default;

std::shared_ptr<void> HostBufferPool::take(size_t bytes) {
  if (bytes < kMinPooledBytes) {
    void* p = std::calloc(std::max<size_t>(bytes, 1), 1);
    if (!p) throw std::bad_alloc();
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  const size_t want = round_up(bytes, kHugePage);
  void* p = nullptr;
  size_t size = want;
  {
    const std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->idle.lower_bound(want);
    if (it != state_->idle.end() && it->first <= 2 * want) {
      size = it->first;
      p = it->second;
      state_->idle_bytes -= size;
      state_->idle.erase(it);
    }
  }
  if (p) {
    std::memset(p, 0, bytes);  // zeroed, as a fresh block is
  } else {
    p = std::aligned_alloc(kHugePage, size);
    if (!p) throw std::bad_alloc();
    ::madvise(p, size, MADV_HUGEPAGE);  // advice only: small pages where refused
    std::memset(p, 0, bytes);
  }
  return std::shared_ptr<void>(p, [state = state_, size](void* q) { state->release(q, size); });
}

size_t HostBufferPool::idle_bytes() const {
  const std::lock_guard<std::mutex> lock(state_->mu);
  return state_->idle_bytes;
}

}  // namespace fathom::runtime
