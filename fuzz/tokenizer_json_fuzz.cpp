// libFuzzer target for tokenizer.json (untrusted: it comes with every model folder, and a GGUF's
// tokenizer metadata is turned into one). Every input gives a Status, never a throw or a crash;
// a tokenizer that loads encodes and decodes text with ids inside its vocabulary (a
// disagreement traps).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<tokenizer::Tokenizer> t = tokenizer::Tokenizer::from_json(text, "");
  if (!t.ok()) {
    if (t.status().message().empty()) __builtin_trap();
    return 0;
  }
  for (std::string_view s : {"hello abc world", "", "\xff\xfe invalid utf-8", "<l>x a b c 123"}) {
    Result<std::vector<int32_t>> ids = t->encode(s, true);
    if (!ids.ok()) continue;
    for (int32_t id : *ids)
      if (id < 0 || id >= t->vocab_size()) __builtin_trap();
    (void)t->decode(*ids, false);
  }
  return 0;
}
