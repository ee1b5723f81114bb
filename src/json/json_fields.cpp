#include "json/json_fields.h"

#include <cmath>

namespace fathom::json {

template <class J>
Result<J> parse_json_object(std::string_view body) {
  J j = J::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again only to get the position for the message; exceptions stay inside this file.
    try {
      const J again = J::parse(body);
      (void)again;
    } catch (const typename J::exception& e) {  // parse_error, or out_of_range for 1e400
      return invalid_argument(std::string("malformed JSON in the request body: ") + e.what());
    }
    return invalid_argument("malformed JSON in the request body");
  }
  if (!j.is_object()) return invalid_argument("the request body must be a JSON object");
  return j;
}

template <class J>
std::string dump(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

namespace {
template <class J>
std::string preview(const J& j) {
  std::string s = dump(j);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

template <class J>
const J* field(const J& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

template <class J>
Result<std::optional<double>> get_number(const J& obj, const char* name) {
  const J* f = field(obj, name);
  if (!f) return std::optional<double>();
  if (!f->is_number()) return invalid_argument(std::string(name) + " must be a number, got " + preview(*f));
  const double v = f->template get<double>();
  if (!std::isfinite(v)) return invalid_argument(std::string(name) + " must be finite");
  return std::optional<double>(v);
}

template <class J>
Result<std::optional<int64_t>> get_integer(const J& obj, const char* name) {
  const J* f = field(obj, name);
  if (!f) return std::optional<int64_t>();
  if (f->is_number_unsigned() && f->template get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return invalid_argument(std::string(name) + " is out of range, got " + preview(*f));
  if (f->is_number_integer()) return std::optional<int64_t>(f->template get<int64_t>());
  if (f->is_number_float()) {
    const double v = f->template get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
      return std::optional<int64_t>(static_cast<int64_t>(v));
  }
  return invalid_argument(std::string(name) + " must be an integer, got " + preview(*f));
}

template <class J>
Result<std::optional<bool>> get_bool(const J& obj, const char* name) {
  const J* f = field(obj, name);
  if (!f) return std::optional<bool>();
  if (!f->is_boolean()) return invalid_argument(std::string(name) + " must be a boolean, got " + preview(*f));
  return std::optional<bool>(f->template get<bool>());
}

template <class J>
Result<std::optional<std::string>> get_string(const J& obj, const char* name) {
  const J* f = field(obj, name);
  if (!f) return std::optional<std::string>();
  if (!f->is_string()) return invalid_argument(std::string(name) + " must be a string, got " + preview(*f));
  return std::optional<std::string>(f->template get<std::string>());
}

template <class J>
Result<const J*> get_object(const J& obj, const char* name) {
  const J* f = field(obj, name);
  if (!f) return static_cast<const J*>(nullptr);
  if (!f->is_object()) return invalid_argument(std::string(name) + " must be an object, got " + preview(*f));
  return f;
}

std::string param_of(std::string_view message) {
  const size_t end = message.find_first_of(" ,:");
  const std::string_view word = message.substr(0, end);
  if (word.empty()) return "";
  for (char c : word)
    if (!(std::islower(static_cast<unsigned char>(c)) || c == '_' || c == '.' || std::isdigit(static_cast<unsigned char>(c))))
      return "";
  return std::string(word);
}

#define FATHOM_JSON_INSTANTIATE(J)                                                   \
  template Result<J> parse_json_object<J>(std::string_view);                        \
  template Result<std::optional<double>> get_number<J>(const J&, const char*);      \
  template Result<std::optional<int64_t>> get_integer<J>(const J&, const char*);    \
  template Result<std::optional<bool>> get_bool<J>(const J&, const char*);          \
  template Result<std::optional<std::string>> get_string<J>(const J&, const char*); \
  template Result<const J*> get_object<J>(const J&, const char*);                   \
  template std::string dump<J>(const J&);

FATHOM_JSON_INSTANTIATE(nlohmann::json)
FATHOM_JSON_INSTANTIATE(nlohmann::ordered_json)

}  // namespace fathom::json
