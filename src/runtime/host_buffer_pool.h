// Reused host memory for the forward pass's scratch buffers. A forward allocates the same large
// activations layer after layer and step after step ([tokens, hidden], MLA's per-head latents);
// fresh pages for each cost a page fault and a zeroing per 4 KiB, which on this project's 2-core
// machine was 12 % of a V2-Lite-shaped 512-token prefill ("other" in `fathom bench model`) and
// slowed the kernels that first wrote them (docs/benchmarks.md, "Scratch buffers").
//
// Blocks of kMinPooledBytes and more are kept on release (up to a cap of idle bytes) and handed
// out again for any request they fit without wasting more than half; they are zeroed on reuse,
// as calloc's are. Smaller requests go to calloc. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace fathom::runtime {

class HostBufferPool {
 public:
  static constexpr size_t kMinPooledBytes = size_t{256} << 10;
  static constexpr size_t kDefaultIdleCapBytes = size_t{1} << 30;

  explicit HostBufferPool(size_t idle_cap_bytes = kDefaultIdleCapBytes);
  ~HostBufferPool();
  HostBufferPool(const HostBufferPool&) = delete;
  HostBufferPool& operator=(const HostBufferPool&) = delete;

  /// `bytes` of zeroed memory, 64-byte aligned (2 MiB for pooled blocks, with transparent huge
  /// pages advised); released to the pool when the last owner goes, even after the pool itself.
  /// Throws std::bad_alloc when the system has no memory.
  std::shared_ptr<void> take(size_t bytes);

  /// Bytes held by released blocks waiting for reuse.
  size_t idle_bytes() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace fathom::runtime
