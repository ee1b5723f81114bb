// A Hugging Face model folder's weights: one model.safetensors, or shards listed by
// model.safetensors.index.json. Tensors are looked up by their checkpoint name.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "formats/safetensors.h"

namespace fathom::formats {

class Checkpoint {
 public:
  static Result<Checkpoint> open(const std::string& model_dir);
  /// A checkpoint over tensors made elsewhere (a GGUF file's, under Hugging Face names);
  /// `owner` keeps the bytes they point into alive as long as the checkpoint, `mapped` (owned
  /// by `owner`) the mapped files among them, for prefault(). `source` names it.
  static Result<Checkpoint> from_views(std::string source, std::vector<TensorView> views,
                                       std::shared_ptr<const void> owner,
                                       std::vector<const MappedFile*> mapped = {});

  /// nullptr when absent.
  const TensorView* find(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t num_tensors() const { return by_name_.size(); }
  const std::string& dir() const { return dir_; }
  /// MappedFile::prefault on every file.
  Status prefault() const;
  /// MappedFile::copy_to_huge_pages on every file (stops at the first failure; the files
  /// copied so far stay copied, the rest mapped).
  Status copy_to_huge_pages(const std::atomic<bool>* stop = nullptr) const;
  /// Every mapped file the tensors point into, in a fixed order (for content hashing).
  std::vector<const MappedFile*> mapped_files() const;

 private:

  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, const TensorView*> by_name_;
  std::vector<TensorView> views_;  ///< from_views only
  std::shared_ptr<const void> owner_;
  std::vector<const MappedFile*> mapped_;  ///< from_views only: files inside owner_
};

}  // namespace fathom::formats
