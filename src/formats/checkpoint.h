// A Hugging Face model folder's weights: one model.safetensors, or shards listed by
// model.safetensors.index.json. Tensors are looked up by their checkpoint name.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "formats/safetensors.h"

namespace fathom::formats {

class Checkpoint {
 public:
  static Result<Checkpoint> open(const std::string& model_dir);

  /// nullptr when absent.
  const TensorView* find(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t num_tensors() const { return by_name_.size(); }
  const std::string& dir() const { return dir_; }
  /// MappedFile::prefault on every file.
  Status prefault() const;

 private:

  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, const TensorView*> by_name_;
};

}  // namespace fathom::formats
