// A read-only memory map of a whole file (RAII). Checkpoint tensors point into it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace fathom::formats {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Maps every page of the file into this process now (madvise MADV_POPULATE_READ), so the
  /// first pass over the weights takes no page faults: the page-table work moves from the
  /// first forward pass onto the load thread. On a cold page cache it reads the file. Kernels
  /// before 5.14 lack the advice; there it falls back to MADV_WILLNEED (asynchronous readahead).
  Status prefault() const;
  /// Replaces the mapped pages by a private copy in anonymous memory backed by transparent
  /// huge pages, at the same addresses (pointers into data() stay valid; the bytes do not
  /// change). A file mapping uses 4 KiB pages, so a pass over gigabytes of weights per decoded
  /// token misses the TLB every 4 KiB; the copy costs one read of the file and memory that
  /// the page cache can no longer share or drop (docs/benchmarks.md, "Weights in huge pages").
  /// Copies 64 MiB at a time, so readers on other threads may use the bytes throughout, and
  /// returns early once `stop` is set. On failure the rest stays mapped from the file.
  Status copy_to_huge_pages(const std::atomic<bool>* stop = nullptr) const;

 private:
  void reset();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace fathom::formats
