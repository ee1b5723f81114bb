// libFuzzer target for the GGUF reader (parse_gguf, which GgufFile::open runs over the mapped
// file). The input is the image itself. Nothing may crash or read outside the image, and what is
// accepted must hold together: each tensor's bytes inside the data section at its aligned offset,
// its size its dims times its type's block bytes, no two tensors sharing a byte, and the writer's
// image of the parsed contents parsing back to the same contents (a disagreement traps).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  // An exactly sized heap buffer, so that AddressSanitizer sees a read past the image.
  std::vector<uint8_t> image(data, data + size);
  auto r = formats::parse_gguf(image.data(), image.size(), "fuzz");
  if (!r.ok()) return 0;
  const uint8_t* begin = image.data() + r->data_offset;
  const uint8_t* end = image.data() + image.size();
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  std::vector<formats::GgufTensorData> copies;
  for (const formats::GgufTensor& t : r->tensors) {
    int64_t rows = 1;
    for (size_t d = 1; d < t.dims.size(); ++d) rows *= t.dims[d];
    const int64_t cols = t.dims.empty() ? 1 : t.dims[0];
    if (t.size_bytes != rows * ggml_row_bytes(t.type, cols)) __builtin_trap();
    if (t.offset % r->alignment != 0) __builtin_trap();
    if (t.data != begin + t.offset || t.data + t.size_bytes > end) __builtin_trap();
    if (t.size_bytes) spans.emplace_back(t.offset, t.offset + static_cast<uint64_t>(t.size_bytes));
    copies.push_back({t.name, t.type, t.dims, {t.data, t.data + t.size_bytes}});
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) __builtin_trap();  // two tensors share bytes
  auto again = formats::serialize_gguf(r->metadata, copies, static_cast<uint32_t>(r->alignment));
  if (!again.ok()) __builtin_trap();
  auto back = formats::parse_gguf(again->data(), again->size(), "fuzz-again");
  if (!back.ok() || back->metadata.size() != r->metadata.size() ||
      back->tensors.size() != r->tensors.size())
    __builtin_trap();
  for (size_t i = 0; i < copies.size(); ++i)
    if (back->tensors[i].name != copies[i].name || back->tensors[i].size_bytes != r->tensors[i].size_bytes ||
        std::memcmp(back->tensors[i].data, copies[i].bytes.data(), copies[i].bytes.size()) != 0)
      __builtin_trap();
  return 0;
}
