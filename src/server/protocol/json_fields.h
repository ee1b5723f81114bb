// Typed access to request JSON fields. Every error is an InvalidArgument whose message starts
// with the field name, so error_mapping can name the param. Absent and null mean "not given".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace fathom::server::protocol {

using Json = nlohmann::ordered_json;

/// The body as a JSON object: "malformed JSON: ..." or "the request body must be a JSON object".
Result<Json> parse_json_object(std::string_view body);

Result<std::optional<double>> get_number(const Json& obj, const char* name);
Result<std::optional<int64_t>> get_integer(const Json& obj, const char* name);
Result<std::optional<bool>> get_bool(const Json& obj, const char* name);
Result<std::optional<std::string>> get_string(const Json& obj, const char* name);

/// Compact JSON text; invalid UTF-8 in strings becomes U+FFFD rather than an exception.
std::string dump(const Json& j);

}  // namespace fathom::server::protocol
