#include "formats/content_hash.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

namespace fathom::formats {

namespace {
constexpr size_t kChunkBytes = size_t{64} << 20;
}  // namespace

uint64_t chunked_hash(const uint8_t* data, size_t size, ThreadPool& pool) {
  const size_t num_chunks = (size + kChunkBytes - 1) / kChunkBytes;
  std::vector<uint64_t> chunk_hashes(num_chunks);
  pool.parallel_for(static_cast<int64_t>(num_chunks), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const size_t offset = static_cast<size_t>(c) * kChunkBytes;
      const size_t len = std::min(kChunkBytes, size - offset);
      chunk_hashes[static_cast<size_t>(c)] = XXH3_64bits(data + offset, len);
    }
  });
  return XXH3_64bits(chunk_hashes.data(), chunk_hashes.size() * sizeof(uint64_t));
}

struct ChunkedHasher::State {
  XXH3_state_t* xxh = XXH3_createState();
};

ChunkedHasher::ChunkedHasher() : state_(new State) { XXH3_64bits_reset(state_->xxh); }

ChunkedHasher::~ChunkedHasher() {
  XXH3_freeState(state_->xxh);
  delete state_;
}

void ChunkedHasher::update(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const size_t n = std::min(size, kChunkBytes - in_chunk_);
    XXH3_64bits_update(state_->xxh, p, n);
    p += n;
    size -= n;
    in_chunk_ += n;
    if (in_chunk_ == kChunkBytes) {
      chunk_hashes_.push_back(XXH3_64bits_digest(state_->xxh));
      XXH3_64bits_reset(state_->xxh);
      in_chunk_ = 0;
    }
  }
}

uint64_t ChunkedHasher::digest() {
  if (in_chunk_ > 0) chunk_hashes_.push_back(XXH3_64bits_digest(state_->xxh));
  XXH3_64bits_reset(state_->xxh);
  in_chunk_ = 0;
  return XXH3_64bits(chunk_hashes_.data(), chunk_hashes_.size() * sizeof(uint64_t));
}

std::string hash_hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace fathom::formats
