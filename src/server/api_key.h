// API keys: "Authorization: Bearer KEY", compared in constant time.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace fathom::server {

/// Equal strings, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Ok when `expected` is empty (no key configured) or the header carries it; Unauthenticated otherwise.
Status check_api_key(std::string_view authorization_header, std::string_view expected);

}  // namespace fathom::server
