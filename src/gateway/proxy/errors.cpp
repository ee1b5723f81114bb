#include "gateway/proxy/errors.h"

#include <nlohmann/json.hpp>

#include "json/json_fields.h"

namespace fathom::gateway {

net::HttpResponse error_response(int http_status, const std::string& type, const std::string& message,
                                 const std::string& code, const std::string& param) {
  nlohmann::json j = {{"error",
                       {{"message", message},
                        {"type", type},
                        {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                        {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
  net::HttpResponse r;
  r.status = http_status;
  r.body = j.dump();
  return r;
}

net::HttpResponse field_error_response(const Status& s) {
  return error_response(400, "invalid_request_error", s.message(), "", json::param_of(s.message()));
}

net::HttpResponse error_response(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidArgument: return error_response(400, "invalid_request_error", s.message());
    case Code::kUnauthenticated: return error_response(401, "authentication_error", s.message(), "invalid_api_key");
    case Code::kPermissionDenied: return error_response(403, "permission_error", s.message());
    case Code::kNotFound: return error_response(404, "invalid_request_error", s.message(), "model_not_found");
    case Code::kResourceExhausted: return error_response(429, "rate_limit_exceeded", s.message(), "rate_limit_exceeded");
    case Code::kUnavailable: return error_response(503, "server_error", s.message());
    default: return error_response(500, "server_error", s.message());
  }
}

}  // namespace fathom::gateway
