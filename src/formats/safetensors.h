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

/// The tensors and metadata of a safetensors image. Tensors point into the bytes it was parsed
/// from (or into `aligned_copies`), so those bytes must outlive it.
struct SafetensorsContents {
  std::vector<TensorView> tensors;
  std::map<std::string, std::string> metadata;
  /// Copies of tensors whose bytes were not aligned for their element type.
  std::vector<std::unique_ptr<uint8_t[]>> aligned_copies;
};

/// Parses a whole safetensors image held in memory (`size` bytes at `bytes`): validates the
/// whole header (JSON, dtypes, shapes vs byte ranges, bounds, overlaps) and reports every bad
/// tensor at once. Never trusts the header: lying bytes give a Status. `source` names the image
/// in errors and in each TensorView::file. SafetensorsFile::open is this over the mapped file.
Result<SafetensorsContents> parse_safetensors(const uint8_t* bytes, size_t size,
                                              const std::string& source);

class SafetensorsFile {
 public:
  /// Maps the file and parses it with parse_safetensors.
  static Result<SafetensorsFile> open(const std::string& path);

  const std::vector<TensorView>& tensors() const { return contents_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return contents_.metadata; }
  const std::string& path() const { return file_.path(); }
  Status prefault() const { return file_.prefault(); }
  const MappedFile& file() const { return file_; }

 private:
  MappedFile file_;
  SafetensorsContents contents_;
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
