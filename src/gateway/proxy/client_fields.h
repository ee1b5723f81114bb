// The fields of a client's completion request that the gateway reads itself, checked once
// through the typed accessor layer: a wrong type, a null where a value is required or an
// out-of-range value is an InvalidArgument naming the field, before any quota is taken.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace fathom::gateway {

struct ClientFields {
  std::string model;
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage
  /// max_tokens, max_completion_tokens or (Responses API) max_output_tokens; the pre-charge
  /// when absent
  int64_t max_tokens = 256;
};

Result<ClientFields> read_client_fields(const nlohmann::json& body);

}  // namespace fathom::gateway
