// libFuzzer target: a client's request body as the gateway reads it (parse, the fields it
// uses, the error answer). Any exception or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/proxy/client_fields.h"
#include "gateway/proxy/errors.h"
#include "json/json_fields.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto j = json::parse_json_object<nlohmann::json>(body);
  if (!j.ok()) return 0;
  auto fields = gateway::read_client_fields(*j);
  if (!fields.ok()) {
    (void)gateway::field_error_response(fields.status());
    return 0;
  }
  (void)json::dump(*j);
  return 0;
}
