// The gateway's own errors, in the OpenAI error JSON shape.
#pragma once

#include <string>

#include "base/status.h"
#include "net/http_message.h"

namespace fathom::gateway {

/// {"error":{"message":...,"type":...,"param":null,"code":...}}
net::HttpResponse error_response(int http_status, const std::string& type, const std::string& message,
                                 const std::string& code = "", const std::string& param = "");
/// A 400 for a request field's InvalidArgument (its message starts with the field's name).
net::HttpResponse field_error_response(const Status& s);
/// The mapping for Status codes that reach the client (400/401/403/404/429/503/500).
net::HttpResponse error_response(const Status& s);

}  // namespace fathom::gateway
