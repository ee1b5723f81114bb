// Python str / dict / list methods reachable from templates, attribute and item access.
#include <unicode/uchar.h>

#include <algorithm>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer::jinja {

namespace {

bool py_isspace(char32_t cp) { return is_unicode_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::string map_case(std::string_view s, char32_t (*fn)(char32_t)) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    const Utf8Char c = decode_utf8(s, pos);
    append_utf8(out, fn(c.code_point));
    pos += c.num_bytes;
  }
  return out;
}
char32_t to_upper(char32_t c) { return static_cast<char32_t>(u_toupper(static_cast<UChar32>(c))); }
char32_t to_lower(char32_t c) { return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c))); }
bool is_cased(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASED) != 0; }

Status arg_count(const CallArgs& args, size_t min, size_t max, const char* name) {
  if (args.positional.size() < min || args.positional.size() > max) {
    return invalid_argument(std::string(name) + "() takes " + std::to_string(min) +
                            (max != min ? " to " + std::to_string(max) : "") + " arguments, got " +
                            std::to_string(args.positional.size()));
  }
  return ok_status();
}

Result<std::string> string_arg(const CallArgs& args, size_t i, const char* name) {
  if (i >= args.positional.size() || !args.positional[i].is_string()) {
    return invalid_argument(std::string(name) + "() argument must be str");
  }
  return args.positional[i].as_string();
}

std::optional<std::string> optional_chars(const CallArgs& args) {
  if (args.positional.empty() || args.positional[0].is_none()) return std::nullopt;
  return args.positional[0].to_str();
}

std::vector<Value> py_split(const std::string& s, const std::optional<std::string>& sep,
                            int64_t maxsplit) {
  std::vector<Value> out;
  if (!sep) {
    size_t pos = 0;
    int64_t splits = 0;
    auto skip_ws = [&] {
      while (pos < s.size()) {
        const Utf8Char c = decode_utf8(s, pos);
        if (!py_isspace(c.code_point)) break;
        pos += c.num_bytes;
      }
    };
    skip_ws();
    while (pos < s.size()) {
      if (maxsplit >= 0 && splits >= maxsplit) {
        std::string rest = s.substr(pos);
        out.emplace_back(py_strip(rest, std::nullopt, false, true));
        return out;
      }
      const size_t start = pos;
      while (pos < s.size()) {
        const Utf8Char c = decode_utf8(s, pos);
        if (py_isspace(c.code_point)) break;
        pos += c.num_bytes;
      }
      out.emplace_back(s.substr(start, pos - start));
      ++splits;
      skip_ws();
    }
    return out;
  }
  size_t start = 0;
  int64_t splits = 0;
  for (;;) {
    const size_t hit =
        (maxsplit >= 0 && splits >= maxsplit) ? std::string::npos : s.find(*sep, start);
    if (hit == std::string::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, hit - start));
    start = hit + sep->size();
    ++splits;
  }
}

// Python str.format with {}, {0}, {name} and {{ }} (no format specs beyond plain fields).
Result<std::string> py_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '{') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
        out.push_back('{');
        ++i;
        continue;
      }
      const size_t close = fmt.find('}', i);
      if (close == std::string::npos)
        return invalid_argument("Single '{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      const size_t colon = field.find(':');
      if (colon != std::string::npos) field = field.substr(0, colon);
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_idx >= args.positional.size())
          return invalid_argument("format(): not enough arguments");
        v = &args.positional[auto_idx++];
      } else if (std::all_of(field.begin(), field.end(),
                             [](char ch) { return ch >= '0' && ch <= '9'; })) {
        const size_t idx = std::stoul(field);
        if (idx >= args.positional.size()) return invalid_argument("format(): index out of range");
        v = &args.positional[idx];
      } else {
        v = args.get_kwarg(field);
        if (!v) return invalid_argument("format(): missing key '" + field + "'");
      }
      out += v->to_str();
      i = close;
    } else if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      out.push_back('}');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Value bound(const std::string& name, std::function<Result<Value>(CallArgs&)> fn) {
  return Value::function(name, std::move(fn));
}

Result<Value> string_method(const std::string& s, const std::string& name) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip";
    const bool right = name != "lstrip";
    return bound(name, [s, left, right, name](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 0, 1, name.c_str()));
      return Value(py_strip(s, optional_chars(a), left, right));
    });
  }
  if (name == "split" || name == "rsplit") {
    return bound(name, [s, name](CallArgs& a) -> Result<Value> {
      std::optional<std::string> sep;
      int64_t maxsplit = -1;
      if (!a.positional.empty() && !a.positional[0].is_none()) sep = a.positional[0].to_str();
      if (const Value* v = a.get_kwarg("sep"); v && !v->is_none()) sep = v->to_str();
      if (a.positional.size() > 1 && a.positional[1].is_int()) maxsplit = a.positional[1].as_int();
      if (const Value* v = a.get_kwarg("maxsplit"); v && v->is_int()) maxsplit = v->as_int();
      if (sep && sep->empty()) return invalid_argument("empty separator");
      if (name == "rsplit" && maxsplit >= 0) {
        // Split from the right: split fully, then re-join the leftmost pieces.
        std::vector<Value> all = py_split(s, sep, -1);
        if (static_cast<int64_t>(all.size()) <= maxsplit + 1) return Value::array(std::move(all));
        const size_t keep = all.size() - static_cast<size_t>(maxsplit);
        std::string head;
        for (size_t i = 0; i < keep; ++i) head += (i ? *sep : "") + all[i].as_string();
        Array out{Value(head)};
        for (size_t i = keep; i < all.size(); ++i) out.push_back(all[i]);
        return Value::array(std::move(out));
      }
      return Value::array(py_split(s, sep, maxsplit));
    });
  }
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return bound(name, [s, start, name](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 1, 1, name.c_str()));
      std::vector<std::string> candidates;
      if (a.positional[0].is_array()) {
        for (const Value& v : *a.positional[0].as_array()) candidates.push_back(v.to_str());
      } else if (a.positional[0].is_string()) {
        candidates.push_back(a.positional[0].as_string());
      } else {
        return invalid_argument(name + " first arg must be str or a tuple of str, not " +
                                a.positional[0].type_name());
      }
      for (const std::string& c : candidates) {
        if (c.size() > s.size()) continue;
        if (start ? s.compare(0, c.size(), c) == 0
                  : s.compare(s.size() - c.size(), c.size(), c) == 0)
          return Value(true);
      }
      return Value(false);
    });
  }
  if (name == "upper")
    return bound(name, [s](CallArgs&) -> Result<Value> { return Value(map_case(s, to_upper)); });
  if (name == "lower")
    return bound(name, [s](CallArgs&) -> Result<Value> { return Value(map_case(s, to_lower)); });
  if (name == "title" || name == "capitalize") {
    const bool title = name == "title";
    return bound(name, [s, title](CallArgs&) -> Result<Value> {
      std::string out;
      bool prev_cased = false;
      bool first = true;
      size_t pos = 0;
      while (pos < s.size()) {
        const Utf8Char c = decode_utf8(s, pos);
        pos += c.num_bytes;
        char32_t cp = c.code_point;
        if (title) {
          cp = prev_cased ? to_lower(cp)
                          : static_cast<char32_t>(u_totitle(static_cast<UChar32>(cp)));
          prev_cased = is_cased(c.code_point);
        } else {
          cp = first ? static_cast<char32_t>(u_totitle(static_cast<UChar32>(cp))) : to_lower(cp);
        }
        first = false;
        append_utf8(out, cp);
      }
      return Value(out);
    });
  }
  if (name == "replace") {
    return bound(name, [s](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 2, 3, "replace"));
      FATHOM_ASSIGN_OR_RETURN(std::string from, string_arg(a, 0, "replace"));
      FATHOM_ASSIGN_OR_RETURN(std::string to, string_arg(a, 1, "replace"));
      int64_t count =
          a.positional.size() > 2 && a.positional[2].is_int() ? a.positional[2].as_int() : -1;
      std::string out;
      if (from.empty()) {
        // Python inserts `to` between characters.
        const std::vector<std::string> chars = utf8_chars(s);
        for (size_t i = 0; i <= chars.size(); ++i) {
          if (count < 0 || static_cast<int64_t>(i) < count) out += to;
          if (i < chars.size()) out += chars[i];
        }
        return Value(out);
      }
      size_t last = 0;
      for (size_t pos = s.find(from); pos != std::string::npos && count != 0;
           pos = s.find(from, last)) {
        out.append(s, last, pos - last);
        out += to;
        last = pos + from.size();
        if (count > 0) --count;
      }
      out.append(s, last, std::string::npos);
      return Value(out);
    });
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "count") {
    return bound(name, [s, name](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 1, 1, name.c_str()));
      FATHOM_ASSIGN_OR_RETURN(std::string sub, string_arg(a, 0, name.c_str()));
      if (name == "count") {
        if (sub.empty()) return Value(static_cast<int64_t>(utf8_chars(s).size() + 1));
        int64_t n = 0;
        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
        return Value(n);
      }
      const size_t byte_pos = name == "rfind" ? s.rfind(sub) : s.find(sub);
      if (byte_pos == std::string::npos) {
        if (name == "index") return invalid_argument("substring not found");
        return Value(static_cast<int64_t>(-1));
      }
      return Value(static_cast<int64_t>(utf8_chars(s.substr(0, byte_pos)).size()));
    });
  }
  if (name == "join") {
    return bound(name, [s](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 1, 1, "join"));
      FATHOM_ASSIGN_OR_RETURN(Array items, iterate(a.positional[0]));
      std::string out;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string()) {
          return invalid_argument("sequence item " + std::to_string(i) +
                                  ": expected str instance, " + items[i].type_name() + " found");
        }
        if (i) out += s;
        out += items[i].as_string();
      }
      return Value(out);
    });
  }
  if (name == "format") {
    return bound(name, [s](CallArgs& a) -> Result<Value> {
      FATHOM_ASSIGN_OR_RETURN(std::string out, py_format(s, a));
      return Value(out);
    });
  }
  if (name == "splitlines") {
    return bound(name, [s](CallArgs&) -> Result<Value> {
      Array out;
      size_t start = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
          out.emplace_back(s.substr(start, i - start));
          if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
          start = i + 1;
        }
      }
      if (start < s.size()) out.emplace_back(s.substr(start));
      return Value::array(std::move(out));
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
      name == "islower" || name == "isupper") {
    return bound(name, [s, name](CallArgs&) -> Result<Value> {
      if (s.empty()) return Value(false);
      bool any_cased = false;
      size_t pos = 0;
      while (pos < s.size()) {
        const Utf8Char c = decode_utf8(s, pos);
        pos += c.num_bytes;
        const auto cp = static_cast<UChar32>(c.code_point);
        bool ok = true;
        if (name == "isdigit")
          ok = u_isdigit(cp);
        else if (name == "isalpha")
          ok = u_isalpha(cp);
        else if (name == "isalnum")
          ok = u_isalnum(cp);
        else if (name == "isspace")
          ok = py_isspace(c.code_point);
        else if (name == "islower") {
          if (u_isupper(cp)) return Value(false);
          any_cased |= u_islower(cp) != 0;
        } else if (name == "isupper") {
          if (u_islower(cp)) return Value(false);
          any_cased |= u_isupper(cp) != 0;
        }
        if (!ok) return Value(false);
      }
      if (name == "islower" || name == "isupper") return Value(any_cased);
      return Value(true);
    });
  }
  return Value(Undefined{name});
}

Value unsafe_method(const std::string& type, const std::string& name) {
  return bound(name, [type, name](CallArgs&) -> Result<Value> {
    return invalid_argument("access to attribute '" + name + "' of '" + type +
                            "' object is unsafe");
  });
}

Result<Value> dict_method(const ObjectPtr& obj, const std::string& name) {
  if (name == "items") {
    return bound(name, [obj](CallArgs&) -> Result<Value> {
      Array out;
      for (const auto& [k, v] : obj->items()) out.push_back(Value::tuple({Value(k), v}));
      return Value::array(std::move(out));
    });
  }
  if (name == "keys") {
    return bound(name, [obj](CallArgs&) -> Result<Value> {
      Array out;
      for (const auto& kv : obj->items()) out.emplace_back(kv.first);
      return Value::array(std::move(out));
    });
  }
  if (name == "values") {
    return bound(name, [obj](CallArgs&) -> Result<Value> {
      Array out;
      for (const auto& kv : obj->items()) out.push_back(kv.second);
      return Value::array(std::move(out));
    });
  }
  if (name == "get") {
    return bound(name, [obj](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 1, 2, "get"));
      if (a.positional[0].is_string()) {
        if (const Value* v = obj->find(a.positional[0].as_string())) return *v;
      }
      return a.positional.size() > 1 ? a.positional[1] : Value(None{});
    });
  }
  if (name == "update" || name == "pop" || name == "setdefault" || name == "clear" ||
      name == "popitem") {
    return unsafe_method("dict", name);
  }
  return Value(Undefined{name});
}

Result<Value> list_method(const ArrayPtr& arr, const std::string& name) {
  if (name == "index" || name == "count") {
    return bound(name, [arr, name](CallArgs& a) -> Result<Value> {
      FATHOM_RETURN_IF_ERROR(arg_count(a, 1, 1, name.c_str()));
      int64_t n = 0;
      for (size_t i = 0; i < arr->size(); ++i) {
        if (values_equal((*arr)[i], a.positional[0])) {
          if (name == "index") return Value(static_cast<int64_t>(i));
          ++n;
        }
      }
      if (name == "index") return invalid_argument(a.positional[0].repr() + " is not in list");
      return Value(n);
    });
  }
  if (name == "append" || name == "extend" || name == "pop" || name == "insert" ||
      name == "remove" || name == "clear" || name == "sort" || name == "reverse") {
    return unsafe_method("list", name);
  }
  return Value(Undefined{name});
}

int64_t normalize_index(int64_t idx, int64_t size) { return idx < 0 ? idx + size : idx; }

}  // namespace

std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const Utf8Char c = decode_utf8(s, pos);
    out.emplace_back(s.substr(pos, c.num_bytes));
    pos += c.num_bytes;
  }
  return out;
}

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                     bool right) {
  std::vector<char32_t> set;
  if (chars) {
    size_t pos = 0;
    while (pos < chars->size()) {
      const Utf8Char c = decode_utf8(*chars, pos);
      set.push_back(c.code_point);
      pos += c.num_bytes;
    }
  }
  auto strip_it = [&](char32_t cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : py_isspace(cp);
  };
  size_t begin = 0;
  size_t end = s.size();
  if (left) {
    while (begin < end) {
      const Utf8Char c = decode_utf8(s, begin);
      if (!strip_it(c.code_point)) break;
      begin += c.num_bytes;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
      if (!strip_it(decode_utf8(s, start).code_point)) break;
      end = start;
    }
  }
  return std::string(s.substr(begin, end - begin));
}

Result<Array> iterate(const Value& v) {
  if (v.is_array()) return *v.as_array();
  if (v.is_undefined()) return Array{};
  if (v.is_object()) {
    Array keys;
    for (const auto& kv : v.as_object()->items()) keys.emplace_back(kv.first);
    return keys;
  }
  if (v.is_string()) {
    Array out;
    for (std::string& c : utf8_chars(v.as_string())) out.emplace_back(std::move(c));
    return out;
  }
  return invalid_argument("'" + v.type_name() + "' object is not iterable");
}

Result<int64_t> length_of(const Value& v) {
  if (v.is_string()) return static_cast<int64_t>(utf8_chars(v.as_string()).size());
  if (v.is_array()) return static_cast<int64_t>(v.as_array()->size());
  if (v.is_object()) return static_cast<int64_t>(v.as_object()->size());
  if (v.is_undefined()) return int64_t{0};
  return invalid_argument("object of type '" + v.type_name() + "' has no len()");
}

Result<Value> get_attribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) {
    const std::string& what = obj.as_undefined().name;
    return invalid_argument("'" + (what.empty() ? std::string("undefined") : what) +
                            "' is undefined (reading ." + name + ")");
  }
  if (obj.is_object()) {
    const ObjectPtr& o = obj.as_object();
    if (!o->is_namespace) {
      FATHOM_ASSIGN_OR_RETURN(Value m, dict_method(o, name));
      if (!m.is_undefined()) return m;
    }
    if (const Value* v = o->find(name)) return *v;
    return Value(Undefined{name});
  }
  if (obj.is_string()) return string_method(obj.as_string(), name);
  if (obj.is_array()) return list_method(obj.as_array(), name);
  return Value(Undefined{name});
}

Result<Value> get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) {
    const std::string& what = obj.as_undefined().name;
    return invalid_argument("'" + (what.empty() ? std::string("undefined") : what) +
                            "' is undefined (reading [" + key.repr() + "])");
  }
  if (obj.is_array() && (key.is_int() || key.is_bool())) {
    const Array& a = *obj.as_array();
    const int64_t idx = normalize_index(key.is_bool() ? key.as_bool() : key.as_int(),
                                        static_cast<int64_t>(a.size()));
    if (idx < 0 || idx >= static_cast<int64_t>(a.size()))
      return Value(Undefined{"[" + key.repr() + "]"});
    return a[static_cast<size_t>(idx)];
  }
  if (obj.is_string() && key.is_int()) {
    const std::vector<std::string> chars = utf8_chars(obj.as_string());
    const int64_t idx = normalize_index(key.as_int(), static_cast<int64_t>(chars.size()));
    if (idx < 0 || idx >= static_cast<int64_t>(chars.size()))
      return Value(Undefined{"[" + key.repr() + "]"});
    return Value(chars[static_cast<size_t>(idx)]);
  }
  if (obj.is_object() && key.is_string()) {
    if (const Value* v = obj.as_object()->find(key.as_string())) return *v;
  }
  if (key.is_string()) return get_attribute(obj, key.as_string());
  return Value(Undefined{"[" + key.repr() + "]"});
}

Result<Value> get_slice(const Value& obj, const Value& start, const Value& stop,
                        const Value& step) {
  const bool is_str = obj.is_string();
  if (!is_str && !obj.is_array()) {
    if (obj.is_undefined()) return invalid_argument("cannot slice an undefined value");
    return invalid_argument("'" + obj.type_name() + "' object is not subscriptable");
  }
  std::vector<std::string> chars;
  if (is_str) chars = utf8_chars(obj.as_string());
  const auto n = static_cast<int64_t>(is_str ? chars.size() : obj.as_array()->size());
  auto int_or = [](const Value& v,
                   std::optional<int64_t> fallback) -> Result<std::optional<int64_t>> {
    if (v.is_undefined() || v.is_none()) return fallback;
    if (!v.is_int()) return invalid_argument("slice indices must be integers or None");
    return std::optional<int64_t>(v.as_int());
  };
  FATHOM_ASSIGN_OR_RETURN(std::optional<int64_t> st, int_or(step, int64_t{1}));
  const int64_t k = *st;
  if (k == 0) return invalid_argument("slice step cannot be zero");
  FATHOM_ASSIGN_OR_RETURN(std::optional<int64_t> b, int_or(start, std::nullopt));
  FATHOM_ASSIGN_OR_RETURN(std::optional<int64_t> e, int_or(stop, std::nullopt));
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v < 0 ? *v + n : *v;
    if (k > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t from = clamp(b, k > 0 ? 0 : n - 1);
  const int64_t to = clamp(e, k > 0 ? n : -1);
  std::string s_out;
  Array a_out;
  for (int64_t i = from; k > 0 ? i < to : i > to; i += k) {
    if (is_str) {
      s_out += chars[static_cast<size_t>(i)];
    } else {
      a_out.push_back((*obj.as_array())[static_cast<size_t>(i)]);
    }
  }
  if (is_str) return Value(s_out);
  return Value::array(std::move(a_out));
}

}  // namespace fathom::tokenizer::jinja
