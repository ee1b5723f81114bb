// The request/response abstraction the rest of fathom sees; Beast types never leave src/net.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fathom::net {

struct HttpRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< as sent, e.g. "/v1/models?x=1"
  std::string path;    ///< target without the query string
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;

  /// The header's value, or "" when absent. `name` must be lower case.
  const std::string& header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  std::string body;
};

}  // namespace fathom::net
