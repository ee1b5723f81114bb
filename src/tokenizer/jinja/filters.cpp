// Jinja's built-in filters and tests (the ones chat templates use), with Jinja2 semantics.
#include <unicode/uchar.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer::jinja {

namespace {

const Value* arg(const CallArgs& a, size_t i, const char* kw) {
  if (i < a.positional.size()) return &a.positional[i];
  return a.get_kwarg(kw);
}

Result<Value> call_method(const Value& obj, const std::string& name, CallArgs args) {
  FATHOM_ASSIGN_OR_RETURN(Value m, get_attribute(obj, name));
  if (!m.is_callable()) return invalid_argument("'" + obj.type_name() + "' has no method " + name);
  return m.as_callable()->fn(args);
}

// Attribute lookup for "a.b.c" (map, selectattr, sort, join, sum, ...).
Result<Value> get_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!part.empty() &&
        std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      FATHOM_ASSIGN_OR_RETURN(cur, get_item(cur, Value(static_cast<int64_t>(std::stoll(part)))));
    } else {
      FATHOM_ASSIGN_OR_RETURN(cur, get_item(cur, Value(part)));
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

Value lower_if_string(const Value& v, bool case_sensitive) {
  if (case_sensitive || !v.is_string()) return v;
  std::string s = v.as_string();
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return Value(s);
}

Result<Value> select_like(const Value& value, CallArgs& args, const BuiltinHooks& hooks,
                          bool by_attr, bool keep) {
  FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
  size_t next_arg = 0;
  std::string attr;
  if (by_attr) {
    if (args.positional.empty() || !args.positional[0].is_string())
      return invalid_argument("missing attribute name");
    attr = args.positional[0].as_string();
    next_arg = 1;
  }
  std::optional<std::string> test;
  if (args.positional.size() > next_arg) test = args.positional[next_arg].to_str();
  CallArgs test_args;
  for (size_t i = next_arg + 1; i < args.positional.size(); ++i)
    test_args.positional.push_back(args.positional[i]);
  Array out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attr) {
      FATHOM_ASSIGN_OR_RETURN(subject, get_path(item, attr));
    }
    bool pass = false;
    if (test) {
      CallArgs a = test_args;
      FATHOM_ASSIGN_OR_RETURN(pass, hooks.apply_test(*test, subject, a));
    } else {
      pass = subject.truthy();
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Result<Value> sort_filter(const Value& value, CallArgs& args) {
  FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
  const Value* rev = arg(args, 0, "reverse");
  const Value* cs = arg(args, 1, "case_sensitive");
  const Value* attr = arg(args, 2, "attribute");
  const bool reverse = rev && rev->truthy();
  const bool case_sensitive = cs && cs->truthy();
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) {
    Value key = item;
    if (attr && attr->is_string()) {
      FATHOM_ASSIGN_OR_RETURN(key, get_path(item, attr->as_string()));
    }
    keyed.emplace_back(lower_if_string(key, case_sensitive), item);
  }
  Status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    Result<int> c = compare_values(a.first, b.first);
    if (!c.ok()) {
      err = c.status();
      return false;
    }
    return reverse ? *c > 0 : *c < 0;
  });
  if (!err.ok()) return err;
  Array out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::array(std::move(out));
}

Result<Value> tojson_filter(const Value& value, CallArgs& args) {
  JsonFormat f;
  if (const Value* indent = arg(args, 0, "indent"); indent && !indent->is_none()) {
    if (!indent->is_int()) return invalid_argument("tojson: indent must be an integer");
    f.indent = static_cast<int>(indent->as_int());
  }
  if (const Value* seps = args.get_kwarg("separators");
      seps && seps->is_array() && seps->as_array()->size() == 2) {
    f.item_separator = (*seps->as_array())[0].to_str();
    f.key_separator = (*seps->as_array())[1].to_str();
  }
  if (const Value* sk = args.get_kwarg("sort_keys")) f.sort_keys = sk->truthy();
  FATHOM_ASSIGN_OR_RETURN(std::string s, to_json(value, f));
  return Value(s);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Result<Value> number_filter(const Value& value, CallArgs& args, bool to_int) {
  const Value* def = arg(args, 0, "default");
  Value fallback = def ? *def : (to_int ? Value(int64_t{0}) : Value(0.0));
  if (value.is_int()) return to_int ? value : Value(static_cast<double>(value.as_int()));
  if (value.is_bool())
    return to_int ? Value(static_cast<int64_t>(value.as_bool())) : Value(value.as_double());
  if (value.is_float()) return to_int ? Value(static_cast<int64_t>(value.as_double())) : value;
  if (value.is_string()) {
    const std::string s = py_strip(value.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    if (to_int) {
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end && *end == '\0') return Value(static_cast<int64_t>(v));
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0') return Value(static_cast<int64_t>(d));
    } else {
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0') return Value(d);
    }
  }
  return fallback;
}

// Python's \w: alphanumeric or underscore.
bool is_word_char(char32_t cp) {
  return cp == '_' || u_isalnum(static_cast<UChar32>(cp)) ||
         u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_ALPHABETIC);
}

// Jinja's title filter: words start after runs of [-\s({[<]; first character upper, rest lower.
std::string jinja_title(const std::string& s) {
  std::string out;
  bool word_start = true;
  size_t pos = 0;
  while (pos < s.size()) {
    const Utf8Char c = decode_utf8(s, pos);
    pos += c.num_bytes;
    const char32_t cp = c.code_point;
    const bool separator = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' ||
                           is_unicode_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F);
    if (separator) {
      append_utf8(out, cp);
      word_start = true;
      continue;
    }
    append_utf8(out, static_cast<char32_t>(word_start ? u_toupper(static_cast<UChar32>(cp))
                                                      : u_tolower(static_cast<UChar32>(cp))));
    word_start = false;
  }
  return out;
}

}  // namespace

Result<std::string> percent_format(const std::string& fmt, const Value& args) {
  Array values;
  if (args.is_array()) {
    values = *args.as_array();
  } else {
    values.push_back(args);
  }
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (i + 1 >= fmt.size()) return invalid_argument("incomplete format");
    const char spec = fmt[++i];
    if (spec == '%') {
      out.push_back('%');
      continue;
    }
    if (next >= values.size()) return invalid_argument("not enough arguments for format string");
    const Value& v = values[next++];
    char buf[64];
    switch (spec) {
      case 's':
        out += v.to_str();
        break;
      case 'r':
        out += v.repr();
        break;
      case 'd':
      case 'i':
        if (!v.is_number() && !v.is_bool())
          return invalid_argument("%d format: a real number is required, not " + v.type_name());
        out += std::to_string(v.is_int() ? v.as_int() : static_cast<int64_t>(v.as_double()));
        break;
      case 'f':
        if (!v.is_number() && !v.is_bool())
          return invalid_argument("%f format: a real number is required, not " + v.type_name());
        std::snprintf(buf, sizeof(buf), "%f", v.as_double());
        out += buf;
        break;
      case 'x':
        if (!v.is_int()) return invalid_argument("%x format: an integer is required");
        std::snprintf(buf, sizeof(buf), "%llx", static_cast<long long>(v.as_int()));
        out += buf;
        break;
      default:
        return invalid_argument(std::string("unsupported format character '") + spec + "'");
    }
  }
  if (next < values.size() && args.is_array())
    return invalid_argument("not all arguments converted during string formatting");
  return out;
}

Result<Value> call_filter(const std::string& name, const Value& value, CallArgs& args,
                          const BuiltinHooks& hooks) {
  if (name == "length" || name == "count") {
    FATHOM_ASSIGN_OR_RETURN(int64_t n, length_of(value));
    return Value(n);
  }
  if (name == "default" || name == "d") {
    const Value* def = arg(args, 0, "default_value");
    const Value* boolean = arg(args, 1, "boolean");
    const bool use_default =
        value.is_undefined() || (boolean && boolean->truthy() && !value.truthy());
    if (use_default) return def ? *def : Value(std::string());
    return value;
  }
  if (name == "tojson") return tojson_filter(value, args);
  if (name == "trim") {
    const Value* chars = arg(args, 0, "chars");
    std::optional<std::string> c;
    if (chars && !chars->is_none()) c = chars->to_str();
    return Value(py_strip(value.to_str(), c, true, true));
  }
  if (name == "string") return Value(value.to_str());
  if (name == "upper" || name == "lower" || name == "capitalize") {
    return call_method(Value(value.to_str()), name, {});
  }
  if (name == "title") return Value(jinja_title(value.to_str()));
  if (name == "replace") {
    CallArgs a;
    a.positional = args.positional;
    return call_method(Value(value.to_str()), "replace", a);
  }
  if (name == "first" || name == "last") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    if (items.empty()) return Value(Undefined{name});
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    return Value::array(std::move(items));
  }
  if (name == "items") {
    if (value.is_undefined()) return Value::array();
    if (!value.is_object())
      return invalid_argument("items filter needs a mapping, got " + value.type_name());
    return call_method(value, "items", {});
  }
  if (name == "join") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    const Value* sep = arg(args, 0, "d");
    const Value* attr = arg(args, 1, "attribute");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      Value item = items[i];
      if (attr && attr->is_string()) {
        FATHOM_ASSIGN_OR_RETURN(item, get_path(item, attr->as_string()));
      }
      if (i && sep) out += sep->to_str();
      out += item.to_str();
    }
    return Value(out);
  }
  if (name == "map") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    Array out;
    if (const Value* attr = args.get_kwarg("attribute")) {
      const Value* def = args.get_kwarg("default");
      for (const Value& item : items) {
        FATHOM_ASSIGN_OR_RETURN(Value v, get_path(item, attr->to_str()));
        out.push_back(v.is_undefined() && def ? *def : v);
      }
      return Value::array(std::move(out));
    }
    if (args.positional.empty()) return invalid_argument("map: needs a filter name or attribute=");
    const std::string filter = args.positional[0].to_str();
    for (const Value& item : items) {
      CallArgs a;
      a.positional.assign(args.positional.begin() + 1, args.positional.end());
      a.keyword = args.keyword;
      FATHOM_ASSIGN_OR_RETURN(Value v, hooks.apply_filter(filter, item, a));
      out.push_back(std::move(v));
    }
    return Value::array(std::move(out));
  }
  if (name == "select") return select_like(value, args, hooks, false, true);
  if (name == "reject") return select_like(value, args, hooks, false, false);
  if (name == "selectattr") return select_like(value, args, hooks, true, true);
  if (name == "rejectattr") return select_like(value, args, hooks, true, false);
  if (name == "sort") return sort_filter(value, args);
  if (name == "dictsort") {
    if (!value.is_object()) return invalid_argument("dictsort needs a mapping");
    Array pairs;
    const Value* cs = arg(args, 0, "case_sensitive");
    const bool case_sensitive = cs && cs->truthy();
    for (const auto& [k, v] : value.as_object()->items())
      pairs.push_back(Value::tuple({Value(k), v}));
    std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& a, const Value& b) {
      return lower_if_string((*a.as_array())[0], case_sensitive).as_string() <
             lower_if_string((*b.as_array())[0], case_sensitive).as_string();
    });
    return Value::array(std::move(pairs));
  }
  if (name == "reverse") {
    if (value.is_string()) {
      std::vector<std::string> chars = utf8_chars(value.as_string());
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value(out);
    }
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    std::reverse(items.begin(), items.end());
    return Value::array(std::move(items));
  }
  if (name == "unique") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    const Value* cs = arg(args, 0, "case_sensitive");
    const bool case_sensitive = cs && cs->truthy();
    Array out;
    std::vector<Value> seen;
    for (const Value& item : items) {
      const Value key = lower_if_string(item, case_sensitive);
      if (std::any_of(seen.begin(), seen.end(),
                      [&](const Value& s) { return values_equal(s, key); }))
        continue;
      seen.push_back(key);
      out.push_back(item);
    }
    return Value::array(std::move(out));
  }
  if (name == "sum") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    const Value* attr = arg(args, 0, "attribute");
    const Value* start = arg(args, 1, "start");
    Value total = start ? *start : Value(int64_t{0});
    for (Value item : items) {
      if (attr && attr->is_string()) {
        FATHOM_ASSIGN_OR_RETURN(item, get_path(item, attr->as_string()));
      }
      if (!(item.is_number() || item.is_bool()) || !(total.is_number() || total.is_bool())) {
        return invalid_argument("sum: unsupported operand type(s): '" + total.type_name() +
                                "' and '" + item.type_name() + "'");
      }
      if ((total.is_int() || total.is_bool()) && (item.is_int() || item.is_bool())) {
        total =
            Value(static_cast<int64_t>(total.as_double()) + static_cast<int64_t>(item.as_double()));
      } else {
        total = Value(total.as_double() + item.as_double());
      }
    }
    return total;
  }
  if (name == "min" || name == "max") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    if (items.empty()) return Value(Undefined{name});
    Value best = items[0];
    for (size_t i = 1; i < items.size(); ++i) {
      FATHOM_ASSIGN_OR_RETURN(
          int c, compare_values(lower_if_string(items[i], false), lower_if_string(best, false)));
      if (name == "min" ? c < 0 : c > 0) best = items[i];
    }
    return best;
  }
  if (name == "abs") {
    if (value.is_int()) return Value(value.as_int() < 0 ? -value.as_int() : value.as_int());
    if (value.is_float()) return Value(std::fabs(value.as_double()));
    return invalid_argument("bad operand type for abs(): '" + value.type_name() + "'");
  }
  if (name == "int") return number_filter(value, args, true);
  if (name == "float") return number_filter(value, args, false);
  if (name == "round") {
    const Value* prec = arg(args, 0, "precision");
    const Value* method = arg(args, 1, "method");
    const int64_t p = prec && prec->is_int() ? prec->as_int() : 0;
    const std::string m = method ? method->to_str() : "common";
    const double scale = std::pow(10.0, static_cast<double>(p));
    const double x = value.as_double() * scale;
    const double r = m == "floor"  ? std::floor(x)
                     : m == "ceil" ? std::ceil(x)
                                   : std::nearbyint(x);  // ties to even
    return Value(r / scale);
  }
  if (name == "escape" || name == "e" || name == "forceescape")
    return Value(html_escape(value.to_str()));
  if (name == "safe") return value;
  if (name == "indent") {
    const Value* width = arg(args, 0, "width");
    const Value* first = arg(args, 1, "first");
    const Value* blank = arg(args, 2, "blank");
    const std::string pad = width && width->is_string()
                                ? width->as_string()
                                : std::string(width && width->is_int() ? width->as_int() : 4, ' ');
    const std::string s = value.to_str();
    std::string out;
    size_t start = 0;
    bool first_line = true;
    for (;;) {
      const size_t nl = s.find('\n', start);
      const std::string line =
          s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      const bool indent_it =
          first_line ? (first && first->truthy()) : (!line.empty() || (blank && blank->truthy()));
      if (indent_it) out += pad;
      out += line;
      if (nl == std::string::npos) break;
      out.push_back('\n');
      start = nl + 1;
      first_line = false;
    }
    return Value(out);
  }
  if (name == "wordcount") {
    // len(re.findall(r"\w+", s))
    const std::string text = value.to_str();
    int64_t words = 0;
    bool in_word = false;
    size_t pos = 0;
    while (pos < text.size()) {
      const Utf8Char c = decode_utf8(text, pos);
      pos += c.num_bytes;
      const bool w = is_word_char(c.code_point);
      if (w && !in_word) ++words;
      in_word = w;
    }
    return Value(words);
  }
  if (name == "format") {
    Value fmt_args = Value::array(args.positional);
    FATHOM_ASSIGN_OR_RETURN(std::string s, percent_format(value.to_str(), fmt_args));
    return Value(s);
  }
  if (name == "attr") {
    if (args.positional.empty()) return invalid_argument("attr: missing name");
    return get_attribute(value, args.positional[0].to_str());
  }
  if (name == "batch") {
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(value));
    const Value* size = arg(args, 0, "linecount");
    if (!size || !size->is_int() || size->as_int() <= 0)
      return invalid_argument("batch: needs a positive size");
    Array out;
    for (size_t i = 0; i < items.size(); i += static_cast<size_t>(size->as_int())) {
      Array chunk(items.begin() + i,
                  items.begin() + std::min(items.size(), i + static_cast<size_t>(size->as_int())));
      out.push_back(Value::array(std::move(chunk)));
    }
    return Value::array(std::move(out));
  }
  return invalid_argument("no filter named '" + name + "'");
}

Result<bool> call_test(const std::string& name, const Value& v, CallArgs& args) {
  auto other = [&]() -> Result<Value> {
    if (args.positional.empty()) return invalid_argument("test '" + name + "' needs an argument");
    return args.positional[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number() || v.is_bool();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_object() && !v.as_object()->is_namespace;
  if (name == "iterable") return v.is_array() || v.is_object() || v.is_string() || v.is_undefined();
  if (name == "sequence") return v.is_array() || v.is_object() || v.is_string() || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    CallArgs none;
    FATHOM_ASSIGN_OR_RETURN(Value m, get_attribute(v, name == "lower" ? "islower" : "isupper"));
    FATHOM_ASSIGN_OR_RETURN(Value r, m.as_callable()->fn(none));
    return r.truthy();
  }
  if (name == "odd" || name == "even") {
    if (!v.is_int()) return invalid_argument("test '" + name + "' needs an integer");
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    FATHOM_ASSIGN_OR_RETURN(Value n, other());
    if (!v.is_int() || !n.is_int() || n.as_int() == 0)
      return invalid_argument("divisibleby needs non-zero integers");
    return v.as_int() % n.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") {
    FATHOM_ASSIGN_OR_RETURN(Value o, other());
    return values_equal(v, o);
  }
  if (name == "ne" || name == "!=") {
    FATHOM_ASSIGN_OR_RETURN(Value o, other());
    return !values_equal(v, o);
  }
  if (name == "sameas") {
    FATHOM_ASSIGN_OR_RETURN(Value o, other());
    if (v.is_array() && o.is_array()) return v.as_array() == o.as_array();
    if (v.is_object() && o.is_object()) return v.as_object() == o.as_object();
    return v.storage().index() == o.storage().index() && values_equal(v, o) && !v.is_string();
  }
  if (name == "lt" || name == "lessthan" || name == "<" || name == "le" || name == "<=" ||
      name == "gt" || name == "greaterthan" || name == ">" || name == "ge" || name == ">=") {
    FATHOM_ASSIGN_OR_RETURN(Value o, other());
    FATHOM_ASSIGN_OR_RETURN(int c, compare_values(v, o));
    if (name == "lt" || name == "lessthan" || name == "<") return c < 0;
    if (name == "le" || name == "<=") return c <= 0;
    if (name == "gt" || name == "greaterthan" || name == ">") return c > 0;
    return c >= 0;
  }
  if (name == "in") {
    FATHOM_ASSIGN_OR_RETURN(Value container, other());
    if (container.is_string() && v.is_string())
      return container.as_string().find(v.as_string()) != std::string::npos;
    FATHOM_ASSIGN_OR_RETURN(Array items, iterate(container));
    return std::any_of(items.begin(), items.end(),
                       [&](const Value& x) { return values_equal(x, v); });
  }
  return invalid_argument("no test named '" + name + "'");
}

}  // namespace fathom::tokenizer::jinja
