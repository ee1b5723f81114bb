// libFuzzer target for the safetensors reader (parse_safetensors, which SafetensorsFile::open
// runs over the mapped file). The first byte picks how the rest becomes an image: odd, the
// rest is the image as a file holds it (u64 header length, header, data); even, byte0 / 2 is
// the number of data bytes at the end of the input and the bytes between are the header, whose
// length prefix is written here, so the fuzzer can work on the JSON alone. Nothing may crash
// or read outside the image, and whatever is accepted must hold together: every tensor's size
// its shape times its dtype's, its bytes aligned for its dtype and equal to those its header
// offsets give inside the data (an aligned copy's too), and no two tensors sharing a byte (a
// disagreement traps).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  if (size < 1) return 0;
  std::vector<uint8_t> image;
  if (data[0] & 1) {
    image.assign(data + 1, data + size);
  } else {
    const size_t data_bytes = std::min<size_t>(data[0] / 2, size - 1);
    const uint64_t header_len = size - 1 - data_bytes;
    image.resize(8 + header_len + data_bytes);
    std::memcpy(image.data(), &header_len, 8);
    std::memcpy(image.data() + 8, data + 1, size - 1);
  }
  // An exactly sized heap buffer, so that AddressSanitizer sees a read past the image.
  auto r = formats::parse_safetensors(image.data(), image.size(), "fuzz");
  if (!r.ok()) return 0;

  uint64_t header_len = 0;
  std::memcpy(&header_len, image.data(), 8);
  const uint8_t* begin = image.data() + 8 + header_len;
  const uint8_t* end = image.data() + image.size();
  // The header's own offsets, to check each tensor's bytes (an aligned copy's too) against.
  const nlohmann::json header = nlohmann::json::parse(begin - header_len, begin, nullptr, false);
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const formats::TensorView& t : r->tensors) {
    const int64_t elem = dtype_size(t.dtype);
    if (t.size_bytes < 0 || t.numel() * elem != t.size_bytes) __builtin_trap();
    if (reinterpret_cast<uintptr_t>(t.data) % static_cast<uintptr_t>(elem) != 0) __builtin_trap();
    const auto& off = header.at(t.name).at("data_offsets");
    const uint64_t from = off.at(0).get<uint64_t>(), to = off.at(1).get<uint64_t>();
    if (to - from != static_cast<uint64_t>(t.size_bytes)) __builtin_trap();
    if (to > static_cast<uint64_t>(end - begin)) __builtin_trap();
    if (std::memcmp(t.data, begin + from, static_cast<size_t>(t.size_bytes)) != 0) __builtin_trap();
    if (from != to) spans.emplace_back(from, to);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) __builtin_trap();  // two tensors share bytes
  return 0;
}
