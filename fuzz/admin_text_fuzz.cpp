// The admin console's text handling (src/gateway/admin/console_text.h): query strings of admin
// calls, months, and the config masking (never throws, never leaves a secret field's value).
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/admin/console_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* name : {"month", "tenant", "limit", ""}) {
    auto v = fathom::gateway::query_param(text, name);
    if (v) (void)fathom::gateway::is_month(*v);
  }
  auto masked = fathom::gateway::masked_config_yaml(text);
  if (masked.ok()) {
    auto again = fathom::gateway::masked_config_yaml(*masked);  // masking its own output works
    if (!again.ok()) __builtin_trap();
  }
  return 0;
}
