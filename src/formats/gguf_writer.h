// GGUF writer (version 3, little-endian): the metadata in the given order, then the tensor infos,
// then each tensor's bytes at an offset aligned to `alignment`. Used by the tests to build GGUFs
// from fixture models, and by tools that write quantized models.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"

namespace fathom::formats {

struct GgufTensorData {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> dims;  ///< innermost first (ggml's ne)
  std::vector<uint8_t> bytes;
};

/// The image write_gguf writes, in memory. Checks each tensor's byte count against its dims and
/// type, and general.alignment (when given) against `alignment`.
Result<std::vector<uint8_t>> serialize_gguf(
    const std::vector<std::pair<std::string, GgufValue>>& metadata,
    const std::vector<GgufTensorData>& tensors, uint32_t alignment = 32);

/// Writes PATH.tmp, then renames it to `path`.
Status write_gguf(const std::string& path,
                  const std::vector<std::pair<std::string, GgufValue>>& metadata,
                  const std::vector<GgufTensorData>& tensors, uint32_t alignment = 32);

}  // namespace fathom::formats
