// safetensors reader (over mmap) and writer. Format: u64 LE header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/mapped_file.h"
#include "formats/tensor_view.h"

namespace fathom::formats {

class SafetensorsFile {
 public:
  /// Validates the whole header (JSON, dtypes, shapes vs byte ranges, bounds) and reports
  /// every bad tensor at once. Never trusts the header: a lying file gives a Status.
  static Result<SafetensorsFile> open(const std::string& path);

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_.path(); }

 private:
  MappedFile file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
  // Copies of tensors whose mapped bytes were not aligned for their element type.
  std::vector<std::unique_ptr<uint8_t[]>> aligned_copies_;
};

struct OwnedTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

OwnedTensor make_f32_tensor(std::string name, std::vector<int64_t> shape,
                            const std::vector<float>& values);

/// Writes tensors in the given order, header padded to 8 bytes; writes to PATH.tmp then renames.
Status write_safetensors(const std::string& path, const std::vector<OwnedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace fathom::formats
