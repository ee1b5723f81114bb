#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace fathom::tokenizer::jinja {

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return &v;
  return nullptr;
}

Value* Object::find(std::string_view key) {
  for (auto& [k, v] : items_)
    if (k == key) return &v;
  return nullptr;
}

void Object::set(std::string key, Value value) {
  if (Value* v = find(key)) {
    *v = std::move(value);
  } else {
    items_.emplace_back(std::move(key), std::move(value));
  }
}

const Value* CallArgs::get_kwarg(std::string_view name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

namespace {

template <typename J>
Value value_from_json(const J& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value(None{});
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Value(static_cast<int64_t>(j.template get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      Array items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(value_from_json(item));
      return Value::array(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      auto obj = std::make_shared<Object>();
      for (auto it = j.begin(); it != j.end(); ++it)
        obj->set(it.key(), value_from_json(it.value()));
      return Value(std::move(obj));
    }
    default:
      return Value(None{});
  }
}

std::string python_str_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back(quote);
  return out;
}

void append_json_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

Status json_rec(const Value& v, const JsonFormat& f, int depth, std::string& out) {
  auto newline = [&](int d) {
    if (!f.indent) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(*f.indent) * d, ' ');
  };
  const std::string item_sep =
      !f.item_separator.empty() ? f.item_separator : (f.indent ? "," : ", ");
  const auto& st = v.storage();
  if (v.is_undefined())
    return invalid_argument("Object of type Undefined is not JSON serializable");
  if (v.is_none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.as_int());
  } else if (v.is_float()) {
    const double d = v.as_double();
    out += std::isnan(d)   ? "NaN"
           : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity")
                           : python_float_repr(d);
  } else if (v.is_string()) {
    append_json_string(out, v.as_string());
  } else if (v.is_array()) {
    const Array& a = *v.as_array();
    if (a.empty()) {
      out += "[]";
      return ok_status();
    }
    out.push_back('[');
    for (size_t i = 0; i < a.size(); ++i) {
      if (i) out += item_sep;
      newline(depth + 1);
      FATHOM_RETURN_IF_ERROR(json_rec(a[i], f, depth + 1, out));
    }
    newline(depth);
    out.push_back(']');
  } else if (v.is_object()) {
    const Object& o = *v.as_object();
    if (o.size() == 0) {
      out += "{}";
      return ok_status();
    }
    std::vector<const std::pair<std::string, Value>*> items;
    for (const auto& kv : o.items()) items.push_back(&kv);
    if (f.sort_keys)
      std::stable_sort(items.begin(), items.end(),
                       [](auto* a, auto* b) { return a->first < b->first; });
    out.push_back('{');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += item_sep;
      newline(depth + 1);
      append_json_string(out, items[i]->first);
      out += f.key_separator;
      FATHOM_RETURN_IF_ERROR(json_rec(items[i]->second, f, depth + 1, out));
    }
    newline(depth);
    out.push_back('}');
  } else {
    (void)st;
    return invalid_argument("Object of type " + v.type_name() + " is not JSON serializable");
  }
  return ok_status();
}

}  // namespace

Value Value::from_json(const nlohmann::ordered_json& j) { return value_from_json(j); }
Value Value::from_json(const nlohmann::json& j) { return value_from_json(j); }

bool Value::truthy() const {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined> || std::is_same_v<T, None>)
          return false;
        else if constexpr (std::is_same_v<T, bool>)
          return x;
        else if constexpr (std::is_same_v<T, int64_t>)
          return x != 0;
        else if constexpr (std::is_same_v<T, double>)
          return x != 0.0;
        else if constexpr (std::is_same_v<T, std::string>)
          return !x.empty();
        else if constexpr (std::is_same_v<T, ArrayPtr>)
          return !x->empty();
        else if constexpr (std::is_same_v<T, ObjectPtr>)
          return x->is_namespace || x->size() > 0;
        else
          return true;
      },
      v_);
}

std::string Value::type_name() const {
  if (is_undefined()) return "Undefined";
  if (is_none()) return "NoneType";
  if (is_bool()) return "bool";
  if (is_int()) return "int";
  if (is_float()) return "float";
  if (is_string()) return "str";
  if (is_array()) return "list";
  if (is_object()) return as_object()->is_namespace ? "Namespace" : "dict";
  return "function";
}

std::string Value::to_str() const {
  if (is_undefined()) return "";
  if (is_string()) return as_string();
  return repr();
}

std::string Value::repr() const {
  if (is_undefined()) return "Undefined";
  if (is_none()) return "None";
  if (is_bool()) return as_bool() ? "True" : "False";
  if (is_int()) return std::to_string(as_int());
  if (is_float()) return python_float_repr(as_double());
  if (is_string()) return python_str_repr(as_string());
  if (is_array()) {
    std::string out = is_tuple() ? "(" : "[";
    const Array& a = *as_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (i) out += ", ";
      out += a[i].repr();
    }
    if (is_tuple()) return out + (a.size() == 1 ? ",)" : ")");
    return out + "]";
  }
  if (is_object()) {
    const Object& o = *as_object();
    std::string out = o.is_namespace ? "<Namespace {" : "{";
    for (size_t i = 0; i < o.items().size(); ++i) {
      if (i) out += ", ";
      out += python_str_repr(o.items()[i].first) + ": " + o.items()[i].second.repr();
    }
    return out + (o.is_namespace ? "}>" : "}");
  }
  return "<function " + as_callable()->name + ">";
}

bool values_equal(const Value& a, const Value& b) {
  const bool a_num = a.is_number() || a.is_bool();
  const bool b_num = b.is_number() || b.is_bool();
  if (a_num && b_num) {
    if ((a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool())) {
      const int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
      const int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
      return x == y;
    }
    return a.as_double() == b.as_double();
  }
  if (a.storage().index() != b.storage().index()) return false;
  if (a.is_undefined() || a.is_none()) return true;
  if (a.is_string()) return a.as_string() == b.as_string();
  if (a.is_array()) {
    const Array& x = *a.as_array();
    const Array& y = *b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!values_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const Object& x = *a.as_object();
    const Object& y = *b.as_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x.items()) {
      const Value* w = y.find(k);
      if (!w || !values_equal(v, *w)) return false;
    }
    return true;
  }
  if (a.is_callable()) return a.as_callable() == b.as_callable();
  return false;
}

Result<int> compare_values(const Value& a, const Value& b) {
  const bool a_num = a.is_number() || a.is_bool();
  const bool b_num = b.is_number() || b.is_bool();
  if (a_num && b_num) {
    const double x = a.as_double();
    const double y = b.as_double();
    if ((a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool())) {
      const int64_t i = a.is_bool() ? a.as_bool() : a.as_int();
      const int64_t j = b.is_bool() ? b.as_bool() : b.as_int();
      return i < j ? -1 : i > j ? 1 : 0;
    }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_array() && b.is_array()) {
    const Array& x = *a.as_array();
    const Array& y = *b.as_array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return compare_values(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  return invalid_argument("'<' not supported between instances of '" + a.type_name() + "' and '" +
                          b.type_name() + "'");
}

Result<std::string> to_json(const Value& v, const JsonFormat& format) {
  std::string out;
  FATHOM_RETURN_IF_ERROR(json_rec(v, format, 0, out));
  return out;
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e+02" (shortest round-trip digits)
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e_pos + 1));
  std::string out;
  if (exp < -4 || exp >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    const auto int_len = static_cast<size_t>(exp + 1);
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return negative ? "-" + out : out;
}

}  // namespace fathom::tokenizer::jinja
