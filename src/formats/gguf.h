// GGUF (llama.cpp's single-file model format, versions 2 and 3) reader over mmap. Layout, all
// little-endian: "GGUF", u32 version, u64 tensor count, u64 metadata count; metadata as
// (string key, u32 value type, value); tensor infos as (string name, u32 n_dims, u64 dims[n_dims]
// innermost first, u32 ggml type, u64 offset); padding to general.alignment (default 32); data.
// A string is a u64 length and that many bytes; an array a u32 element type, a u64 count and the
// elements. Nothing read is trusted: every count, length, type, dimension and offset is checked
// against the bytes that are there, and each bad field is an error naming it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "formats/mapped_file.h"
#include "tensor/ggml_type.h"

namespace fathom::formats {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
const char* gguf_value_type_name(GgufValueType t);

/// One metadata value. Integers and bools are held in `integer`, floats in `real`, strings in
/// `text`; an array's elements (never arrays themselves) in `integers`, `reals` or `texts` by
/// its element type.
struct GgufValue {
  GgufValueType type = GgufValueType::kU32;
  GgufValueType element_type = GgufValueType::kU8;  ///< arrays only
  int64_t integer = 0;                              ///< a u64 above INT64_MAX is clamped to it
  double real = 0.0;
  std::string text;
  std::vector<int64_t> integers;
  std::vector<double> reals;
  std::vector<std::string> texts;

  bool is_integer() const;  ///< any integer type (not bool)
  bool is_number() const;   ///< integer or float
  bool is_array_of_integers() const;
  size_t array_size() const { return integers.size() + reals.size() + texts.size(); }

  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue i32_array(std::vector<int64_t> v);
  static GgufValue f32_array(std::vector<double> v);
};

/// One tensor: `dims` innermost first (ggml's ne), so a [rows, cols] matrix has dims {cols, rows}.
struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> dims;
  uint64_t offset = 0;  ///< from the start of the data section
  int64_t size_bytes = 0;
  const uint8_t* data = nullptr;  ///< into the parsed image

  int64_t numel() const;
};

struct GgufContents {
  uint32_t version = 3;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  ///< where the data section starts in the image
  std::vector<std::pair<std::string, GgufValue>> metadata;  ///< in file order
  std::vector<GgufTensor> tensors;                          ///< in file order

  /// nullptr when absent.
  const GgufValue* find(const std::string& key) const;
  const GgufTensor* find_tensor(const std::string& name) const;
};

/// Parses a whole GGUF image held in memory; `source` names it in errors. Header errors stop at
/// the first bad field; tensor problems (type, shape, offset, bounds, overlap) are all listed.
/// Tensors point into `bytes`, which must outlive the result.
Result<GgufContents> parse_gguf(const uint8_t* bytes, size_t size, const std::string& source);

class GgufFile {
 public:
  /// Maps the file and parses it with parse_gguf.
  static Result<GgufFile> open(const std::string& path);
  const GgufContents& contents() const { return contents_; }
  const std::string& path() const { return file_.path(); }
  const MappedFile& mapped() const { return file_; }

 private:
  MappedFile file_;
  GgufContents contents_;
};

/// True when the file starts with the GGUF magic (reads 4 bytes; false if unreadable).
bool looks_like_gguf(const std::string& path);

}  // namespace fathom::formats
