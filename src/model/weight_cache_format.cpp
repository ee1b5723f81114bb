#include "model/weight_cache_format.h"

#include <xxhash.h>

#include <cstring>
#include <set>
#include <string>

#include "formats/content_hash.h"

namespace fathom::model {
namespace {

using kernels::LinearWeight;
using kernels::WeightFormat;

constexpr char kMagic[8] = {'F', 'T', 'H', 'M', 'W', 'C', 'v', '1'};
constexpr uint64_t kAlign = 64;
constexpr int64_t kMaxDim = int64_t{1} << 24;  // keeps every size product far from overflow
constexpr uint32_t kMaxNameBytes = 4096;
constexpr uint8_t kHasGroupIdx = 1, kHasInputPerm = 2;

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

uint8_t flags_of(const LinearWeight& w) {
  if (w.format != WeightFormat::kInt4Grouped) return 0;
  return static_cast<uint8_t>((w.group_idx ? kHasGroupIdx : 0) |
                              (w.input_perm ? kHasInputPerm : 0));
}

/// The byte sizes of w's buffers in LinearWeight's order, or why its parameters are invalid.
/// Reads only the shape fields and `flags`, never a pointer.
Result<std::vector<uint64_t>> buffer_sizes(const LinearWeight& w, uint8_t flags) {
  const int64_t out = w.out_features, in = w.in_features;
  if (out < 1 || out > kMaxDim || in < 1 || in > kMaxDim)
    return data_loss("shape [" + std::to_string(out) + ", " + std::to_string(in) +
                     "] out of range");
  if (w.format != WeightFormat::kInt4Grouped && flags != 0)
    return data_loss("flags " + std::to_string(flags) + " on a " +
                     kernels::weight_format_name(w.format) + " weight");
  const auto n = static_cast<uint64_t>(out * in);
  switch (w.format) {
    case WeightFormat::kF32:
      return std::vector<uint64_t>{n * 4};
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      return std::vector<uint64_t>{n * 2};
    case WeightFormat::kFp8Block: {
      if (w.block_out < 1 || w.block_out > kMaxDim || w.block_in < 1 || w.block_in > kMaxDim)
        return data_loss("fp8 block " + std::to_string(w.block_out) + " x " +
                         std::to_string(w.block_in) + " out of range");
      return std::vector<uint64_t>{
          n, static_cast<uint64_t>(ceil_div(out, w.block_out) * ceil_div(in, w.block_in)) * 4};
    }
    case WeightFormat::kInt4Grouped: {
      if (flags > (kHasGroupIdx | kHasInputPerm))
        return data_loss("flags " + std::to_string(flags) + " unknown");
      if (w.group_size < 1 || w.num_groups < 1 || w.num_groups > kMaxDim)
        return data_loss("group_size " + std::to_string(w.group_size) + " / num_groups " +
                         std::to_string(w.num_groups) + " out of range");
      if (!(flags & kHasGroupIdx) && w.num_groups < ceil_div(in, w.group_size))
        return data_loss("num_groups " + std::to_string(w.num_groups) + " < ceil(in / " +
                         std::to_string(w.group_size) + ")");
      const auto g = static_cast<uint64_t>(out) * static_cast<uint64_t>(w.num_groups);
      std::vector<uint64_t> s{static_cast<uint64_t>(out * ((in + 1) / 2)), g * 4, g};
      if (flags & kHasGroupIdx) s.push_back(static_cast<uint64_t>(in) * 4);
      if (flags & kHasInputPerm) s.push_back(static_cast<uint64_t>(in) * 4);
      return s;
    }
    case WeightFormat::kInt8Channel:
      return std::vector<uint64_t>{n, static_cast<uint64_t>(out) * 4};
    case WeightFormat::kGgml:
      break;
  }
  return data_loss(std::string("format ") + kernels::weight_format_name(w.format) +
                   " cannot be cached");
}

std::vector<const void*> buffer_pointers(const LinearWeight& w) {
  switch (w.format) {
    case WeightFormat::kF32:
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      return {w.values};
    case WeightFormat::kFp8Block:
      return {w.values, w.block_scale_inv};
    case WeightFormat::kInt4Grouped: {
      std::vector<const void*> p{w.q4, w.group_scale, w.group_zero};
      if (w.group_idx) p.push_back(w.group_idx);
      if (w.input_perm) p.push_back(w.input_perm);
      return p;
    }
    case WeightFormat::kInt8Channel:
      return {w.q8, w.channel_scale};
    case WeightFormat::kGgml:
      break;
  }
  return {};
}

void set_buffer_pointers(LinearWeight& w, uint8_t flags, const std::vector<const uint8_t*>& p) {
  switch (w.format) {
    case WeightFormat::kF32:
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      w.values = p[0];
      return;
    case WeightFormat::kFp8Block:
      w.values = p[0];
      w.block_scale_inv = reinterpret_cast<const float*>(p[1]);
      return;
    case WeightFormat::kInt4Grouped: {
      w.q4 = p[0];
      w.group_scale = reinterpret_cast<const float*>(p[1]);
      w.group_zero = p[2];
      size_t k = 3;
      if (flags & kHasGroupIdx) w.group_idx = reinterpret_cast<const int32_t*>(p[k++]);
      if (flags & kHasInputPerm) w.input_perm = reinterpret_cast<const int32_t*>(p[k++]);
      return;
    }
    case WeightFormat::kInt8Channel:
      w.q8 = reinterpret_cast<const int8_t*>(p[0]);
      w.channel_scale = reinterpret_cast<const float*>(p[1]);
      return;
    case WeightFormat::kGgml:
      return;
  }
}

/// The index values the kernels use to address memory: group_idx in [0, num_groups),
/// input_perm a permutation of [0, in).
Status check_indices(const LinearWeight& w) {
  if (w.group_idx)
    for (int64_t i = 0; i < w.in_features; ++i)
      if (w.group_idx[i] < 0 || w.group_idx[i] >= w.num_groups)
        return data_loss("group_idx[" + std::to_string(i) +
                         "] = " + std::to_string(w.group_idx[i]) + " out of range");
  if (w.input_perm) {
    std::vector<bool> seen(static_cast<size_t>(w.in_features), false);
    for (int64_t j = 0; j < w.in_features; ++j) {
      const int32_t c = w.input_perm[j];
      if (c < 0 || c >= w.in_features || seen[static_cast<size_t>(c)])
        return data_loss("input_perm[" + std::to_string(j) + "] = " + std::to_string(c) +
                         " is not a permutation entry");
      seen[static_cast<size_t>(c)] = true;
    }
  }
  return ok_status();
}

/// Bounds-checked little-endian reads from [data, data + size).
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  bool read(T& v) {
    if (size_ - pos_ < sizeof(T)) return false;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_string(std::string& s, size_t n) {
    if (size_ - pos_ < n) return false;
    s.assign(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

bool weight_cache_storable(const LinearWeight& w) { return buffer_sizes(w, flags_of(w)).ok(); }

Result<WeightCacheHeader> parse_weight_cache_header(const uint8_t* data, size_t size) {
  if (size < kWeightCacheHeaderBytes)
    return data_loss("truncated: " + std::to_string(size) + " bytes, the header alone is " +
                     std::to_string(kWeightCacheHeaderBytes));
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0) return data_loss("not a fathom weight cache");
  Reader r(data + sizeof kMagic, kWeightCacheHeaderBytes - sizeof kMagic);
  uint32_t version = 0;
  WeightCacheHeader h;
  r.read(version);
  r.read(h.num_weights);
  r.read(h.key.lo);
  r.read(h.key.hi);
  r.read(h.index_offset);
  r.read(h.index_size);
  r.read(h.data_offset);
  r.read(h.data_size);
  r.read(h.data_checksum);
  r.read(h.build_ns);
  r.read(h.index_checksum);
  if (version != kWeightCacheVersion)
    return data_loss("format version " + std::to_string(version) + ", this fathom reads " +
                     std::to_string(kWeightCacheVersion));
  const uint64_t n = size;
  if (h.index_offset != kWeightCacheHeaderBytes || h.index_size > n - h.index_offset)
    return data_loss("index [" + std::to_string(h.index_offset) + ", +" +
                     std::to_string(h.index_size) + ") outside the file's " + std::to_string(n) +
                     " bytes");
  if (h.data_offset % kAlign != 0 || h.data_offset < h.index_offset + h.index_size ||
      h.data_offset > n || h.data_size != n - h.data_offset)
    return data_loss("data [" + std::to_string(h.data_offset) + ", +" +
                     std::to_string(h.data_size) + ") does not end the file's " +
                     std::to_string(n) + " bytes (truncated?)");
  if (h.num_weights == 0) return data_loss("no weights");
  return h;
}

Result<std::vector<LinearWeight>> parse_weight_cache_index(const uint8_t* data, size_t size,
                                                           const WeightCacheHeader& h) {
  (void)size;  // parse_weight_cache_header checked both ranges against it
  Reader r(data + h.index_offset, h.index_size);
  const uint8_t* base = data + h.data_offset;
  std::vector<LinearWeight> out;
  std::set<std::string> names;
  for (uint32_t k = 0; k < h.num_weights; ++k) {
    const std::string where = "index record " + std::to_string(k);
    LinearWeight w;
    uint32_t name_len = 0;
    uint8_t format = 0, flags = 0;
    uint16_t pad = 0;
    if (!r.read(name_len) || name_len == 0 || name_len > kMaxNameBytes ||
        !r.read_string(w.name, name_len))
      return data_loss(where + ": name truncated or of bad length " + std::to_string(name_len));
    if (!names.insert(w.name).second) return data_loss(where + ": '" + w.name + "' twice");
    if (!r.read(format) || !r.read(flags) || !r.read(pad) || !r.read(w.out_features) ||
        !r.read(w.in_features) || !r.read(w.block_out) || !r.read(w.block_in) ||
        !r.read(w.group_size) || !r.read(w.num_groups))
      return data_loss(where + " ('" + w.name + "'): truncated");
    if (format > static_cast<uint8_t>(WeightFormat::kGgml))
      return data_loss(where + " ('" + w.name + "'): format " + std::to_string(format) +
                       " unknown");
    w.format = static_cast<WeightFormat>(format);
    auto sizes = buffer_sizes(w, flags);
    if (!sizes.ok()) return data_loss(where + " ('" + w.name + "'): " + sizes.status().message());
    std::vector<const uint8_t*> ptrs;
    for (const uint64_t bytes : *sizes) {
      uint64_t offset = 0;
      if (!r.read(offset)) return data_loss(where + " ('" + w.name + "'): truncated");
      if (offset % kAlign != 0 || offset > h.data_size || bytes > h.data_size - offset)
        return data_loss(where + " ('" + w.name + "'): buffer [" + std::to_string(offset) + ", +" +
                         std::to_string(bytes) + ") outside the data's " +
                         std::to_string(h.data_size) + " bytes");
      ptrs.push_back(base + offset);
    }
    set_buffer_pointers(w, flags, ptrs);
    if (Status s = check_indices(w); !s.ok())
      return data_loss(where + " ('" + w.name + "'): " + s.message());
    out.push_back(std::move(w));
  }
  if (!r.at_end()) return data_loss("index: bytes after the last record");
  return out;
}

void write_weight_cache(std::ostream& out, const std::vector<LinearWeight>& weights,
                        const WeightCacheKey& key, uint64_t build_ns) {
  // Lay the data out first: every buffer at a 64-byte boundary.
  std::string index;
  std::vector<std::pair<const void*, uint64_t>> buffers;  // (bytes, size) in data order
  uint64_t data_size = 0;
  for (const LinearWeight& w : weights) {
    const uint8_t flags = flags_of(w);
    const std::vector<uint64_t> sizes = *buffer_sizes(w, flags);
    const std::vector<const void*> ptrs = buffer_pointers(w);
    put(index, static_cast<uint32_t>(w.name.size()));
    index += w.name;
    put(index, static_cast<uint8_t>(w.format));
    put(index, flags);
    put(index, uint16_t{0});
    put(index, w.out_features);
    put(index, w.in_features);
    put(index, w.block_out);
    put(index, w.block_in);
    put(index, w.group_size);
    put(index, w.num_groups);
    for (size_t b = 0; b < sizes.size(); ++b) {
      data_size = align_up(data_size);
      put(index, data_size);
      buffers.emplace_back(ptrs[b], sizes[b]);
      data_size += sizes[b];
    }
  }
  const uint64_t data_offset = align_up(kWeightCacheHeaderBytes + index.size());
  // Two passes over the buffers: the checksum (in the header) first, then the bytes.
  const std::vector<uint8_t> zeros(kAlign, 0);
  auto for_each_data_piece = [&](const auto& emit) {
    uint64_t pos = 0;
    for (const auto& [ptr, bytes] : buffers) {
      emit(zeros.data(), align_up(pos) - pos);
      pos = align_up(pos);
      emit(ptr, bytes);
      pos += bytes;
    }
  };
  formats::ChunkedHasher hasher;
  for_each_data_piece([&](const void* p, uint64_t n) { hasher.update(p, n); });
  std::string header(kMagic, sizeof kMagic);
  put(header, kWeightCacheVersion);
  put(header, static_cast<uint32_t>(weights.size()));
  put(header, key.lo);
  put(header, key.hi);
  put(header, static_cast<uint64_t>(kWeightCacheHeaderBytes));
  put(header, static_cast<uint64_t>(index.size()));
  put(header, data_offset);
  put(header, data_size);
  put(header, hasher.digest());
  put(header, build_ns);
  put(header, XXH3_64bits(index.data(), index.size()));
  header.resize(kWeightCacheHeaderBytes, '\0');
  header += index;
  header.resize(data_offset, '\0');
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for_each_data_piece([&](const void* p, uint64_t n) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  });
}

}  // namespace fathom::model
