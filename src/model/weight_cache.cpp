#include "model/weight_cache.h"

#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/logging.h"
#include "formats/atomic_write.h"
#include "formats/content_hash.h"
#include "kernels/quantize_weight.h"

namespace fathom::model {
namespace {

namespace fs = std::filesystem;

#if defined(__x86_64__)
constexpr const char* kArch = "x86_64";
#elif defined(__aarch64__)
constexpr const char* kArch = "aarch64";
#else
constexpr const char* kArch = "other";
#endif

std::string seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) * 1e-9);
  return buf;
}

std::string gigabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) * 1e-9);
  return buf;
}

std::string default_fallback_dir() {
  if (const char* d = std::getenv("FATHOM_CACHE_DIR"); d && *d) return d;
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/fathom";
  return "/tmp/fathom-cache";
}

}  // namespace

WeightCacheKey weight_cache_key(const std::string& model_path, const formats::Checkpoint& ck,
                                const std::string& variant, ThreadPool& pool) {
  std::string desc = "fathom weight cache v" + std::to_string(kWeightCacheVersion) + "\n" + kArch +
                     "\n" + variant + "\nint4 group " + std::to_string(kernels::kInt4GroupSize) +
                     "\nfp8 block " + std::to_string(kernels::kFp8Block) + "\n";
  for (const formats::MappedFile* f : ck.mapped_files())
    desc += fs::path(f->path()).filename().string() + " " + std::to_string(f->size()) + " " +
            formats::hash_hex(formats::chunked_hash(f->data(), f->size(), pool)) + "\n";
  std::error_code ec;
  if (fs::is_directory(model_path, ec)) {
    std::ifstream in(fs::path(model_path) / "config.json", std::ios::binary);
    desc += "config.json " + std::string(std::istreambuf_iterator<char>(in), {});
  }
  const XXH128_hash_t h = XXH3_128bits(desc.data(), desc.size());
  return {h.low64, h.high64};
}

WeightCacheSession::WeightCacheSession(const std::string& model_path, const formats::Checkpoint& ck,
                                       WeightCacheOptions opts, const Clock& clock,
                                       ThreadPool& pool)
    : opts_(std::move(opts)), clock_(clock), pool_(pool) {
  if (!opts_.enabled) return;
  std::error_code ec;
  const fs::path model(model_path);
  const bool is_dir = fs::is_directory(model, ec);
  const std::string file =
      (is_dir ? std::string("weights") : model.filename().string()) + "-" + opts_.variant + ".fwc";
  beside_path_ = ((is_dir ? model : model.parent_path()) / ".fathom-cache" / file).string();
  const std::string abs = fs::absolute(model, ec).lexically_normal().string();
  fallback_path_ =
      (fs::path(opts_.fallback_dir.empty() ? default_fallback_dir() : opts_.fallback_dir) /
       "weights" / (formats::hash_hex(XXH3_64bits(abs.data(), abs.size())) + "-" + file))
          .string();

  const auto t0 = clock_.now();
  key_ = weight_cache_key(model_path, ck, opts_.variant, pool_);
  const auto t1 = clock_.now();
  hash_ns_ = (t1 - t0).count();
  miss_reason_ = "no cache file";
  for (const std::string& path : {beside_path_, fallback_path_}) {
    if (!fs::exists(path, ec)) continue;
    const Status s = try_open(path);
    if (s.ok()) {
      hit_path_ = path;
      break;
    }
    miss_reason_ = s.message();
    FATHOM_LOG(kWarning) << "weight cache " << path << " not used, rebuilding it: " << s.message();
  }
  open_ns_ = (clock_.now() - t1).count();
}

Status WeightCacheSession::try_open(const std::string& path) {
  FATHOM_ASSIGN_OR_RETURN(formats::MappedFile f, formats::MappedFile::open(path));
  auto file = std::make_shared<const formats::MappedFile>(std::move(f));
  FATHOM_ASSIGN_OR_RETURN(WeightCacheHeader h,
                          parse_weight_cache_header(file->data(), file->size()));
  if (!(h.key == key_)) return data_loss("stale: the checkpoint or the load options changed");
  if (XXH3_64bits(file->data() + h.index_offset, h.index_size) != h.index_checksum)
    return data_loss("index checksum mismatch: the file is corrupt");
  // Hashing the data also faults its pages in, as prefault would.
  if (formats::chunked_hash(file->data() + h.data_offset, h.data_size, pool_) != h.data_checksum)
    return data_loss("checksum mismatch: the file is corrupt");
  FATHOM_ASSIGN_OR_RETURN(auto weights, parse_weight_cache_index(file->data(), file->size(), h));
  cached_.clear();
  for (kernels::LinearWeight& w : weights) {
    w.storage = {file};
    std::string name = w.name;
    cached_.emplace(std::move(name), std::move(w));
  }
  mapped_ = std::move(file);
  cached_build_ns_ = h.build_ns;
  return ok_status();
}

std::optional<kernels::LinearWeight> WeightCacheSession::find(const std::string& name, int64_t out,
                                                              int64_t in) const {
  auto it = cached_.find(name);
  if (it == cached_.end() || it->second.out_features != out || it->second.in_features != in)
    return std::nullopt;
  return it->second;
}

void WeightCacheSession::add(const kernels::LinearWeight& w, int64_t ns) {
  ++produced_count_;
  produced_ns_ += ns;
  produced_bytes_ += w.size_bytes();
  if (!opts_.enabled || !weight_cache_storable(w) || !produced_names_.insert(w.name).second) return;
  produced_.push_back(w);
}

Status WeightCacheSession::write(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return invalid_argument(path + ": cannot create its folder: " + ec.message());
  // Everything the file will hold: this load's weights plus cached ones it did not replace.
  std::vector<kernels::LinearWeight> all = produced_;
  for (const auto& [name, w] : cached_)
    if (!produced_names_.count(name)) all.push_back(w);
  // A name of this process's own, so that two servers starting on one checkpoint at once
  // never write the same temporary file; each rename is atomic.
  const std::string mine = path + "." + std::to_string(::getpid());
  Status s = formats::write_file_atomically(mine, [&](std::ostream& out) {
    write_weight_cache(out, all, key_, static_cast<uint64_t>(produced_ns_));
  });
  if (s.ok()) {
    fs::rename(mine, path, ec);
    if (ec) s = invalid_argument(path + ": rename failed: " + ec.message());
  }
  if (!s.ok()) {
    fs::remove(mine + ".tmp", ec);
    fs::remove(mine, ec);
  }
  return s;
}

std::string WeightCacheSession::finish() {
  const std::string made = std::to_string(produced_count_) + " weights (" +
                           gigabytes(produced_bytes_) + ") quantized or repacked in " +
                           seconds(produced_ns_);
  if (!opts_.enabled) return made + ", weight cache off";
  const std::string hashed = "checkpoint hashed in " + seconds(hash_ns_);
  if (!hit_path_.empty() && produced_.empty()) {
    // Hashing the checkpoint is the cache's cost too (it also does the prefault's work).
    const int64_t saved = static_cast<int64_t>(cached_build_ns_) - open_ns_ - hash_ns_;
    return "weight cache hit: " + hit_path_ + " (" + std::to_string(cached_.size()) + " weights, " +
           gigabytes(static_cast<int64_t>(mapped_->size())) + ", mapped in " + seconds(open_ns_) +
           ", " + hashed + "; saved " + seconds(saved) + ")";
  }
  if (produced_.empty())
    return "weight cache miss (" + miss_reason_ + "): nothing to cache, " + hashed;
  const auto t0 = clock_.now();
  std::string written;
  for (const std::string& path : {beside_path_, fallback_path_}) {
    const Status s = write(path);
    if (s.ok()) {
      written = path;
      break;
    }
    FATHOM_LOG(kWarning) << "weight cache: " << s.message();
  }
  const std::string wrote =
      written.empty() ? "not written"
                      : "wrote " + written + " in " + seconds((clock_.now() - t0).count());
  const std::string reason =
      hit_path_.empty() ? miss_reason_
                        : hit_path_ + " lacked " + std::to_string(produced_.size()) + " weights";
  produced_.clear();  // the weights live on in the model; the session needs them no longer
  return "weight cache miss (" + reason + "): " + made + ", " + hashed + "; " + wrote;
}

}  // namespace fathom::model
