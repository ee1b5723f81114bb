// libFuzzer target: a request body as `fathom serve` parses it, for chat and for completions
// (every field through the typed accessor layer). Any exception or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/protocol/chat_request.h"
#include "server/protocol/completion_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom::server::protocol;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)parse_chat_request(body);
  (void)parse_completion_request(body);
  return 0;
}
