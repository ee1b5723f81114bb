#include "formats/gguf_writer.h"

#include <cstring>

#include "formats/atomic_write.h"

namespace fathom::formats {
namespace {

class Out {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void scalar(GgufValueType t, int64_t integer, double real, const std::string& text) {
    switch (t) {
      case GgufValueType::kU8:
        put(static_cast<uint8_t>(integer));
        return;
      case GgufValueType::kI8:
        put(static_cast<int8_t>(integer));
        return;
      case GgufValueType::kU16:
        put(static_cast<uint16_t>(integer));
        return;
      case GgufValueType::kI16:
        put(static_cast<int16_t>(integer));
        return;
      case GgufValueType::kU32:
        put(static_cast<uint32_t>(integer));
        return;
      case GgufValueType::kI32:
        put(static_cast<int32_t>(integer));
        return;
      case GgufValueType::kU64:
        put(static_cast<uint64_t>(integer));
        return;
      case GgufValueType::kI64:
        put(integer);
        return;
      case GgufValueType::kBool:
        put(static_cast<uint8_t>(integer != 0));
        return;
      case GgufValueType::kF32:
        put(static_cast<float>(real));
        return;
      case GgufValueType::kF64:
        put(real);
        return;
      case GgufValueType::kString:
        string(text);
        return;
      case GgufValueType::kArray:
        return;  // excluded by the caller
    }
  }
  void pad_to(uint64_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
  }
  std::vector<uint8_t> bytes;
};

}  // namespace

Result<std::vector<uint8_t>> serialize_gguf(
    const std::vector<std::pair<std::string, GgufValue>>& metadata,
    const std::vector<GgufTensorData>& tensors, uint32_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return invalid_argument("write_gguf: alignment " + std::to_string(alignment) +
                            " is not a power of two");
  Out o;
  o.put<uint32_t>(0x46554747);
  o.put<uint32_t>(3);
  o.put<uint64_t>(tensors.size());
  o.put<uint64_t>(metadata.size());
  for (const auto& [key, v] : metadata) {
    if (key == "general.alignment" && (v.type != GgufValueType::kU32 || v.integer != alignment))
      return invalid_argument("write_gguf: general.alignment must be the uint32 " +
                              std::to_string(alignment) + " that the data is aligned to");
    o.string(key);
    o.put(static_cast<uint32_t>(v.type));
    if (v.type != GgufValueType::kArray) {
      o.scalar(v.type, v.integer, v.real, v.text);
      continue;
    }
    if (v.element_type == GgufValueType::kArray)
      return invalid_argument("write_gguf: metadata '" + key +
                              "': nested arrays are not supported");
    o.put(static_cast<uint32_t>(v.element_type));
    o.put<uint64_t>(v.array_size());
    for (const auto& s : v.texts) o.scalar(v.element_type, 0, 0.0, s);
    for (double d : v.reals) o.scalar(v.element_type, 0, d, {});
    for (int64_t i : v.integers) o.scalar(v.element_type, i, 0.0, {});
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& t : tensors) {
    int64_t rows = 1;
    for (size_t d = 1; d < t.dims.size(); ++d) rows *= t.dims[d];
    const int64_t cols = t.dims.empty() ? 1 : t.dims[0];
    if (cols % ggml_block_elements(t.type) != 0 ||
        static_cast<int64_t>(t.bytes.size()) != rows * ggml_row_bytes(t.type, cols))
      return invalid_argument("write_gguf: tensor '" + t.name + "' has " +
                              std::to_string(t.bytes.size()) + " bytes, which do not fit " +
                              ggml_type_name(t.type) + " dims of " + std::to_string(t.dims.size()));
    o.string(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) o.put<uint64_t>(static_cast<uint64_t>(d));
    o.put(static_cast<uint32_t>(t.type));
    o.put<uint64_t>(offset);
    offsets.push_back(offset);
    offset = (offset + t.bytes.size() + alignment - 1) / alignment * alignment;
  }
  o.pad_to(alignment);
  const size_t data_start = o.bytes.size();
  o.bytes.resize(data_start + offset, 0);
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!tensors[i].bytes.empty())
      std::memcpy(o.bytes.data() + data_start + offsets[i], tensors[i].bytes.data(),
                  tensors[i].bytes.size());
  return std::move(o.bytes);
}

Status write_gguf(const std::string& path,
                  const std::vector<std::pair<std::string, GgufValue>>& metadata,
                  const std::vector<GgufTensorData>& tensors, uint32_t alignment) {
  FATHOM_ASSIGN_OR_RETURN(std::vector<uint8_t> image, serialize_gguf(metadata, tensors, alignment));
  return write_file_atomically(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(image.data()),
              static_cast<std::streamsize>(image.size()));
  });
}

}  // namespace fathom::formats
