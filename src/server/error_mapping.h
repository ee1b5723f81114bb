// The only place Status codes become HTTP statuses and OpenAI error JSON:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "temperature", "code": null}}
#pragma once

#include <string>

#include "base/status.h"
#include "net/http_message.h"

namespace fathom::server {

struct HttpError {
  int http_status = 500;
  const char* type = "server_error";
};

/// Code -> HTTP status and OpenAI error type (kOk maps to 500: a caller bug).
HttpError http_error_for(Code code);

/// The OpenAI error body for `status`. The param is the field the message starts with
/// ("temperature must be >= 0" -> "temperature"; "messages[1].role: ..." -> "messages") when
/// that is a request field; null otherwise.
std::string error_json(int http_status, const char* type, const std::string& message,
                       const std::string& param);
net::HttpResponse error_response(const Status& status);
/// For errors the HTTP layer finds itself (413 body too large, 400 malformed HTTP, 404, 405).
net::HttpResponse http_error_response(int http_status, const std::string& message);

/// The request field a validation message names, or "" (see error_json).
std::string param_from_message(const std::string& message);

}  // namespace fathom::server
