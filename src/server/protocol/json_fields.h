// The server's view of the shared typed accessor layer (json/json_fields.h) over ordered JSON,
// which keeps the client's key order in echoed objects.
#pragma once

#include "json/json_fields.h"

namespace fathom::server::protocol {

using Json = nlohmann::ordered_json;

inline Result<Json> parse_json_object(std::string_view body) { return json::parse_json_object<Json>(body); }
using json::dump;
using json::get_bool;
using json::get_integer;
using json::get_number;
using json::get_object;
using json::get_string;

}  // namespace fathom::server::protocol
