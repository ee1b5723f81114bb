#include "formats/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace fathom::formats {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kCopyChunk = size_t{64} << 20;  // a multiple of kHugePage

// `size` bytes of inaccessible address space starting at a kHugePage boundary (nullptr if the
// kernel has none): a larger reservation, trimmed on both sides.
void* reserve_aligned(size_t size) {
  const size_t span = size + kHugePage;
  void* raw = ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t end = aligned + ((size + page - 1) & ~(page - 1));
  if (aligned > begin) ::munmap(raw, aligned - begin);
  if (begin + span > end) ::munmap(reinterpret_cast<void*>(end), begin + span - end);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Status(err == ENOENT ? Code::kNotFound : Code::kInvalidArgument,
                  path + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path + ": not a regular file");
  }
  MappedFile f;
  f.path_ = path;
  f.size_ = static_cast<size_t>(st.st_size);
  if (f.size_ > 0) {
    // At a huge-page boundary, so that copy_to_huge_pages can back the whole range with them.
    void* range = reserve_aligned(f.size_);
    void* p = range == nullptr ? MAP_FAILED
                               : ::mmap(range, f.size_, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      if (range != nullptr) ::munmap(range, f.size_);
      ::close(fd);
      return invalid_argument(path + ": mmap failed: " + std::strerror(err));
    }
    f.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

Status MappedFile::prefault() const {
  if (size_ == 0) return Status();
  void* p = const_cast<uint8_t*>(data_);
#ifdef MADV_POPULATE_READ
  if (::madvise(p, size_, MADV_POPULATE_READ) == 0) return Status();
  if (errno != EINVAL) return unavailable(path_ + ": prefault failed: " + std::strerror(errno));
#endif
  if (::madvise(p, size_, MADV_WILLNEED) != 0)
    return unavailable(path_ + ": madvise(WILLNEED) failed: " + std::strerror(errno));
  return Status();
}

Status MappedFile::copy_to_huge_pages(const std::atomic<bool>* stop) const {
  for (size_t off = 0; off < size_; off += kCopyChunk) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return Status();
    const size_t len = std::min(kCopyChunk, size_ - off);
    uint8_t* at = const_cast<uint8_t*>(data_) + off;  // a huge-page boundary (open, kCopyChunk)
    void* copy = reserve_aligned(len);
    if (copy == nullptr || ::mmap(copy, len, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
      const int err = errno;
      if (copy != nullptr) ::munmap(copy, len);
      return resource_exhausted(path_ + ": no memory for a huge-page copy: " + std::strerror(err));
    }
    (void)::madvise(copy, len, MADV_HUGEPAGE);  // advice: without THP the copy still works
#ifdef MADV_POPULATE_READ
    (void)::madvise(at, len, MADV_POPULATE_READ);  // one call maps the source, not a fault per page
#endif
    std::memcpy(copy, at, len);
    // Read-only like the file mapping, then moved over it: the old pages go, the addresses
    // stay, and a reader sees the same bytes before and after.
    if (::mprotect(copy, len, PROT_READ) != 0 ||
        ::mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED) {
      const int err = errno;
      ::munmap(copy, len);
      return unavailable(path_ +
                         ": cannot move the huge-page copy in place: " + std::strerror(err));
    }
  }
  return Status();
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
      path_(std::move(o.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace fathom::formats
