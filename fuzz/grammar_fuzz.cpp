// libFuzzer target for the structured-output compilers: the first byte picks the input kind
// (JSON schema text or a regular expression), the rest is compiled; whatever compiles is then
// matched against the input's own bytes and walked for a few steps. Nothing may crash, hang
// or leave the matcher in an inconsistent state.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "grammar/regex.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Result<grammar::Grammar> g = invalid_argument("none");
  if (data[0] & 1) {
    g = grammar::regex_grammar(text);
  } else {
    nlohmann::ordered_json schema =
        nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) return 0;
    g = grammar::json_schema_grammar(schema);
  }
  if (!g.ok()) return 0;
  grammar::Matcher m(std::make_shared<const grammar::Grammar>(std::move(*g)));
  (void)m.accept(text);
  grammar::Matcher::State next;
  for (int step = 0; step < 64 && !m.must_end(); ++step) {
    for (int b = 0; b < 256; ++b) {
      m.step(m.state(), static_cast<uint8_t>(b), next);
      if (!next.empty()) {
        const char c = static_cast<char>(b);
        if (!m.accept(std::string_view(&c, 1))) __builtin_trap();  // step and accept disagree
        break;
      }
    }
  }
  return 0;
}
