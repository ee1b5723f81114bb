// The server's own-error renderer for net tests: the status and the message as a short body.
#pragma once

#include <string>

#include "net/http_message.h"

namespace fathom::testing {

inline net::HttpResponse error_page(int status, const std::string& message) {
  net::HttpResponse r;
  r.status = status;
  r.body = "{\"error\":\"" + message.substr(0, 20) + "\"}";
  return r;
}

}  // namespace fathom::testing
