// Where a copy of a weight made after the load appears, possibly while the model already
// serves (LoadOptions::pack_bf16): readers see nullptr until set() publishes the whole copy.
#pragma once

#include <atomic>
#include <memory>

namespace fathom::kernels {

template <class T>
class ReadySlot {
 public:
  const T* get() const { return ready_.load(std::memory_order_acquire); }
  /// Once, before or while readers call get().
  void set(std::unique_ptr<T> value) {
    owned_ = std::move(value);
    ready_.store(owned_.get(), std::memory_order_release);
  }

 private:
  std::unique_ptr<T> owned_;
  std::atomic<const T*> ready_{nullptr};
};

}  // namespace fathom::kernels
