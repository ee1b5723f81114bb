// The on-disk format of the weight cache (model/weight_cache.h): the linear weights a load
// produced in owned memory (quantized by --quantization or repacked from GPTQ / AWQ /
// compressed-tensors), stored so that the next start maps them instead of producing them again.
//
// Layout (little-endian):
//   header   [0, 128)   magic "FTHMWCv1", u32 version, u32 num_weights, u64 key_lo, u64 key_hi,
//                       u64 index_offset, u64 index_size, u64 data_offset, u64 data_size,
//                       u64 data_checksum (formats::chunked_hash of the data), u64 build_ns,
//                       u64 index_checksum (XXH3-64 of the index), zeros to 128
//   index    one record per weight: u32 name_len, name, u8 format, u8 flags (1: group_idx,
//            2: input_perm), u16 0, i64 out, i64 in, i32 block_out, i32 block_in,
//            i32 group_size, i32 num_groups, then one u64 offset (from data_offset, a multiple
//            of 64) per buffer of the format in kernels::LinearWeight's order
//   data     the buffers; every size follows from the record, never from the file
// The file is untrusted: parse_weight_cache checks every field, offset and size and the index
// values the kernels use as indices (group_idx, input_perm), so a lying file is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <vector>

#include "base/status.h"
#include "kernels/linear_weight.h"

namespace fathom::model {

inline constexpr uint32_t kWeightCacheVersion = 1;
inline constexpr size_t kWeightCacheHeaderBytes = 128;

struct WeightCacheKey {
  uint64_t lo = 0, hi = 0;
  bool operator==(const WeightCacheKey&) const = default;
};

struct WeightCacheHeader {
  WeightCacheKey key;
  uint32_t num_weights = 0;
  uint64_t index_offset = 0, index_size = 0;
  uint64_t data_offset = 0, data_size = 0;
  uint64_t data_checksum = 0;
  uint64_t build_ns = 0;  ///< how long the first load took to produce these weights
  uint64_t index_checksum = 0;
};

/// Whether `w` can be stored (every format but kGgml, with consistent parameters).
bool weight_cache_storable(const kernels::LinearWeight& w);

/// The header of a cache file of `size` bytes, checked for magic, version and that the index
/// and data ranges lie inside the file. Does not check the key or the checksums.
Result<WeightCacheHeader> parse_weight_cache_header(const uint8_t* data, size_t size);

/// The weights of a cache file whose header parsed as `h`; their pointers point into `data`
/// (their storage is empty: the caller keeps `data` alive). Every record is validated.
Result<std::vector<kernels::LinearWeight>> parse_weight_cache_index(const uint8_t* data,
                                                                    size_t size,
                                                                    const WeightCacheHeader& h);

/// Writes `weights` (each weight_cache_storable, names unique) as a cache file with `key` and
/// `build_ns`.
void write_weight_cache(std::ostream& out, const std::vector<kernels::LinearWeight>& weights,
                        const WeightCacheKey& key, uint64_t build_ns);

}  // namespace fathom::model
