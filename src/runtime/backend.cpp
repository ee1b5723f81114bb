#include "runtime/backend.h"

#include <functional>
#include <numeric>

namespace fathom::runtime {

int64_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kI32:
      return 4;
  }
  return 4;
}

int64_t Buffer::numel() const {
  if (shape_.empty()) return 0;
  return std::accumulate(shape_.begin(), shape_.end(), int64_t{1}, std::multiplies<>());
}

Buffer Backend::make_buffer(std::vector<int64_t> shape, DType dtype, void* handle,
                            std::shared_ptr<void> owner) {
  Buffer b;
  b.shape_ = std::move(shape);
  b.dtype_ = dtype;
  b.handle_ = handle;
  b.owner_ = std::move(owner);
  return b;
}

void Backend::reserve(Buffer& buf, int64_t numel) {
  if (buf.dtype() == DType::kF32 && buf.numel() >= numel) return;
  buf = alloc({numel});
}

}  // namespace fathom::runtime
