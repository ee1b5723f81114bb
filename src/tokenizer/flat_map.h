// Open-addressing hash tables for the encode hot path (vocab, merges, piece cache): one flat
// array each, linear probing, no per-entry allocation. std::unordered_map's node chasing was
// the largest cost of encoding (see docs/benchmarks.md).
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace fathom::tokenizer {

/// The tables' slot arrays: one of 2 MiB or more is aligned to 2 MiB and advised to use
/// transparent huge pages, so filling a 150k-token vocabulary's tables (~30 MB) takes a dozen
/// page faults instead of thousands -- each costly in a VM, and on the cold-start path.
template <typename T>
struct SlotAllocator {
  using value_type = T;
  SlotAllocator() = default;
  template <typename U>
  SlotAllocator(const SlotAllocator<U>&) {}  // NOLINT: rebinding, as std::allocator
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes));
    void* p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: small pages if refused
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHuge) {
      ::operator delete(p);
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const SlotAllocator<U>&) const {
    return true;
  }
  static constexpr size_t kHuge = size_t{2} << 20;
};

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xFF51AFD7ED558CCDull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  if (s.size() > i) std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xFF51AFD7ED558CCDull;
  h ^= h >> 32;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  return h;
}

inline uint64_t hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

/// string -> int32 (keys stored in one arena). Insert-only.
class FlatStringMap {
 public:
  void reserve(size_t n) { rehash(capacity_for(n)); }
  /// Inserts unless present; returns false if the key was already there.
  bool insert(std::string_view key, int32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<size_t>(16, slots_.size() * 2));
    const uint64_t h = hash_bytes(key);
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s = Slot{h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value};
        arena_.append(key);
        ++size_;
        return true;
      }
      if (s.hash == h && key_of(s) == key) return false;
    }
  }
  const int32_t* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    const uint64_t h = hash_bytes(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return nullptr;
      if (s.hash == h && key_of(s) == key) return &s.value;
    }
  }
  size_t size() const { return size_; }
  void clear() {
    slots_.assign(slots_.size(), Slot{});
    arena_.clear();
    size_ = 0;
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t len = kEmpty;
    int32_t value = 0;
  };
  static size_t capacity_for(size_t n) {
    size_t c = 16;
    while (c < n * 2) c *= 2;
    return c;
  }
  std::string_view key_of(const Slot& s) const {
    return std::string_view(arena_).substr(s.offset, s.len);
  }
  void rehash(size_t capacity) {
    if (capacity <= slots_.size()) return;
    std::vector<Slot, SlotAllocator<Slot>> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& s : old) {
      if (s.len == kEmpty) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].len != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot, SlotAllocator<Slot>> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// uint64 -> V (keys must not be ~0). Insert-only.
template <typename V>
class FlatU64Map {
 public:
  void reserve(size_t n) {
    size_t c = 16;
    while (c < n * 2) c *= 2;
    rehash(c);
  }
  void insert(uint64_t key, V value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<size_t>(16, slots_.size() * 2));
    for (size_t i = hash_u64(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = Slot{key, value};
        ++size_;
        return;
      }
      if (slots_[i].key == key) return;  // keep the first (lowest rank)
    }
  }
  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = hash_u64(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };
  void rehash(size_t capacity) {
    if (capacity <= slots_.size()) return;
    std::vector<Slot, SlotAllocator<Slot>> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != kEmpty) insert(s.key, s.value);
  }
  std::vector<Slot, SlotAllocator<Slot>> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace fathom::tokenizer
