// Typed access to request JSON fields, for the server and the gateway alike. Every error is an
// InvalidArgument whose message starts with the field name, so the error mapping can name the
// param. Absent and null mean "not given". Nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace fathom::json {

/// The body as a JSON object: "malformed JSON: ..." or "the request body must be a JSON object".
template <class J>
Result<J> parse_json_object(std::string_view body);

template <class J>
Result<std::optional<double>> get_number(const J& obj, const char* name);
template <class J>
Result<std::optional<int64_t>> get_integer(const J& obj, const char* name);
template <class J>
Result<std::optional<bool>> get_bool(const J& obj, const char* name);
template <class J>
Result<std::optional<std::string>> get_string(const J& obj, const char* name);
/// The member `name` when it is an object; nullptr when absent or null; an error otherwise.
template <class J>
Result<const J*> get_object(const J& obj, const char* name);

/// Compact JSON text; invalid UTF-8 in strings becomes U+FFFD rather than an exception.
template <class J>
std::string dump(const J& j);

/// The param an InvalidArgument message names (its first word), or "" when it names none.
std::string param_of(std::string_view message);

}  // namespace fathom::json
