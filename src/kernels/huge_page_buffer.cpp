#include "kernels/huge_page_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace fathom::kernels {

std::shared_ptr<void> huge_page_buffer(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t alloc = (std::max<size_t>(bytes, 1) + kHugePage - 1) / kHugePage * kHugePage;
  void* mem = std::aligned_alloc(kHugePage, alloc);
  if (mem == nullptr) throw std::bad_alloc();
  (void)::madvise(mem, alloc, MADV_HUGEPAGE);
  return std::shared_ptr<void>(mem, [](void* q) { std::free(q); });
}

}  // namespace fathom::kernels
