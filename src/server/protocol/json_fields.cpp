#include "server/protocol/json_fields.h"

#include <cmath>

namespace fathom::server::protocol {

Result<Json> parse_json_object(std::string_view body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again only to get the position for the message; exceptions stay inside this file.
    try {
      const Json again = Json::parse(body);
    (void)again;
    } catch (const Json::parse_error& e) {
      return invalid_argument(std::string("malformed JSON in the request body: ") + e.what());
    }
    return invalid_argument("malformed JSON in the request body");
  }
  if (!j.is_object()) return invalid_argument("the request body must be a JSON object");
  return j;
}

namespace {
std::string preview(const Json& j) {
  std::string s = dump(j);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

const Json* field(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

Result<std::optional<double>> get_number(const Json& obj, const char* name) {
  const Json* f = field(obj, name);
  if (!f) return std::optional<double>();
  if (!f->is_number()) return invalid_argument(std::string(name) + " must be a number, got " + preview(*f));
  const double v = f->get<double>();
  if (!std::isfinite(v)) return invalid_argument(std::string(name) + " must be finite");
  return std::optional<double>(v);
}

Result<std::optional<int64_t>> get_integer(const Json& obj, const char* name) {
  const Json* f = field(obj, name);
  if (!f) return std::optional<int64_t>();
  if (f->is_number_integer()) return std::optional<int64_t>(f->get<int64_t>());
  if (f->is_number_float()) {
    const double v = f->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
      return std::optional<int64_t>(static_cast<int64_t>(v));
  }
  return invalid_argument(std::string(name) + " must be an integer, got " + preview(*f));
}

Result<std::optional<bool>> get_bool(const Json& obj, const char* name) {
  const Json* f = field(obj, name);
  if (!f) return std::optional<bool>();
  if (!f->is_boolean()) return invalid_argument(std::string(name) + " must be a boolean, got " + preview(*f));
  return std::optional<bool>(f->get<bool>());
}

Result<std::optional<std::string>> get_string(const Json& obj, const char* name) {
  const Json* f = field(obj, name);
  if (!f) return std::optional<std::string>();
  if (!f->is_string()) return invalid_argument(std::string(name) + " must be a string, got " + preview(*f));
  return std::optional<std::string>(f->get<std::string>());
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace fathom::server::protocol
