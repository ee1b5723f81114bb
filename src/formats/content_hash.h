// Content hashes of large mapped byte ranges (checkpoint shards, weight cache files) with xxHash
// XXH3: the range is cut into 64 MiB chunks hashed in parallel, and the chunk hashes are hashed
// again, so a multi-gigabyte checkpoint hashes at the machine's read bandwidth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/thread_pool.h"

namespace fathom::formats {

/// XXH3-64 of the 64 MiB chunks' XXH3-64 hashes (little-endian u64 each), in order. Depends
/// only on the bytes, never on the number of threads.
uint64_t chunked_hash(const uint8_t* data, size_t size, ThreadPool& pool);

/// chunked_hash of bytes fed in pieces (update) without holding them together: digest() equals
/// chunked_hash of their concatenation.
class ChunkedHasher {
 public:
  ChunkedHasher();
  ~ChunkedHasher();
  ChunkedHasher(const ChunkedHasher&) = delete;
  ChunkedHasher& operator=(const ChunkedHasher&) = delete;
  void update(const void* data, size_t size);
  uint64_t digest();

 private:
  struct State;
  State* state_;
  size_t in_chunk_ = 0;  ///< bytes of the current chunk fed so far
  std::vector<uint64_t> chunk_hashes_;
};

/// 16 lowercase hex digits.
std::string hash_hex(uint64_t h);

}  // namespace fathom::formats
