// A named, typed, shaped view of bytes owned by someone else (usually a mapped checkpoint file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/ggml_type.h"

namespace fathom::formats {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  int64_t size_bytes = 0;
  std::string file;  ///< file the bytes came from (for error messages)
  /// Set for a GGUF block-quantized tensor: `shape` is then its logical [rows, cols] in
  /// elements, `dtype` kU8 and `size_bytes` the bytes of its blocks.
  std::optional<GgmlType> ggml_blocks;

  int64_t numel() const;
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data); }
};

/// "[576, 7168]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace fathom::formats
