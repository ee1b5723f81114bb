// The weight cache: linear weights a load produced in owned memory (quantized by --quantization
// or repacked from GPTQ / AWQ / compressed-tensors) are written to a file beside the checkpoint
// after the first load, and the next load maps that file (zero-copy) instead of producing them
// again. The file is keyed by the checkpoint's content (xxHash XXH3 of every weight file and of
// config.json) and by everything else that changes the result (see cache_key), so a changed
// checkpoint or option rebuilds it; a corrupt, truncated or stale file is a warning and a rebuild.
// Format: model/weight_cache_format.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/thread_pool.h"
#include "formats/checkpoint.h"
#include "formats/mapped_file.h"
#include "kernels/linear_weight.h"
#include "model/weight_cache_format.h"

namespace fathom::model {

struct WeightCacheOptions {
  /// Off: nothing is hashed, read or written; the session only times what the load produces.
  bool enabled = false;
  /// What changes the produced weights besides the checkpoint ("int8", "int4", "fp8" for
  /// --quantization; "repack" for a quantized checkpoint's own format).
  std::string variant;
  /// Where the file goes when the model's folder is not writable; empty: $FATHOM_CACHE_DIR,
  /// else $HOME/.cache/fathom.
  std::string fallback_dir;
};

/// One load's use of the cache: looked up by WeightLoader per linear weight, written at the end.
class WeightCacheSession {
 public:
  /// Hashes the checkpoint's files (on `pool`) and maps a matching cache file if there is one.
  /// Never fails: an unusable file is logged and the load produces the weights again.
  WeightCacheSession(const std::string& model_path, const formats::Checkpoint& ck,
                     WeightCacheOptions opts, const Clock& clock, ThreadPool& pool);

  /// The cached weight `name` of shape [out, in], pointing into the mapped cache file (its
  /// storage keeps the file mapped); nullopt on a miss.
  std::optional<kernels::LinearWeight> find(const std::string& name, int64_t out, int64_t in) const;
  /// A weight the load produced in owned memory, which took `ns` to make.
  void add(const kernels::LinearWeight& w, int64_t ns);
  /// After a successful load: writes the cache file when the load produced weights the cache
  /// lacked. Returns a sentence for the load log (hit or miss, path, time saved or spent).
  std::string finish();

  const Clock& clock() const { return clock_; }
  /// Where the file is looked up first and written when possible.
  const std::string& beside_path() const { return beside_path_; }
  const std::string& fallback_path() const { return fallback_path_; }
  /// The cache file a hit mapped (the weights point into it); null on a miss.
  const std::shared_ptr<const formats::MappedFile>& mapped_file() const { return mapped_; }

 private:
  /// Maps `path` and keeps its weights when its key and checksum match; else why not.
  Status try_open(const std::string& path);
  Status write(const std::string& path);

  WeightCacheOptions opts_;
  const Clock& clock_;
  ThreadPool& pool_;
  WeightCacheKey key_;
  std::string beside_path_, fallback_path_;
  int64_t hash_ns_ = 0;  ///< hashing the checkpoint
  int64_t open_ns_ = 0;  ///< mapping and checking the cache file

  std::string hit_path_;  ///< empty on a miss
  std::string miss_reason_;
  std::shared_ptr<const formats::MappedFile> mapped_;
  uint64_t cached_build_ns_ = 0;
  std::unordered_map<std::string, kernels::LinearWeight> cached_;

  std::vector<kernels::LinearWeight> produced_;  ///< owned weights this load made
  std::set<std::string> produced_names_;
  int64_t produced_count_ = 0;
  int64_t produced_ns_ = 0;
  int64_t produced_bytes_ = 0;
};

/// The key of a load: XXH3-128 of the cache format version, the CPU architecture, the variant,
/// the quantizer's fixed group and block sizes, and the content hash of the checkpoint's files
/// (each file's name, size and formats::chunked_hash) and of `model_path`/config.json.
WeightCacheKey weight_cache_key(const std::string& model_path, const formats::Checkpoint& ck,
                                const std::string& variant, ThreadPool& pool);

}  // namespace fathom::model
