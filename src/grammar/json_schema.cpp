#include "grammar/json_schema.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "grammar/char_class.h"
#include "grammar/regex.h"

namespace fathom::grammar {
namespace {

using J = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;
constexpr int kMaxDigits = 15;
constexpr int64_t kMaxBound = 999999999999999;  // 15 digits

const std::set<std::string>& annotations() {
  static const std::set<std::string> k = {
      "title",      "description", "default",   "examples", "$schema",     "$id",    "$comment",
      "deprecated", "readOnly",    "writeOnly", "$defs",    "definitions", "strict", "name"};
  return k;
}

const std::set<std::string>& keywords() {
  static const std::set<std::string> k = {"type",
                                          "properties",
                                          "required",
                                          "additionalProperties",
                                          "items",
                                          "prefixItems",
                                          "minItems",
                                          "maxItems",
                                          "enum",
                                          "const",
                                          "anyOf",
                                          "allOf",
                                          "$ref",
                                          "minLength",
                                          "maxLength",
                                          "pattern",
                                          "format",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum",
                                          "nullable",
                                          "uniqueItems"};
  return k;
}

// Regular expressions for the supported string formats (each a subset of what the format
// allows, so every output validates).
const std::map<std::string, std::string>& formats() {
  static const std::string date =
      "\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|"
      "02-(?:0[1-9]|1\\d|2[0-8]))";
  static const std::string time =
      "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,6})?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)";
  static const std::string octet = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
  static const std::string label = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?";
  static const std::map<std::string, std::string> k = {
      {"date", date},
      {"time", time},
      {"date-time", date + "T" + time},
      {"uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"},
      {"ipv4", "(?:" + octet + "\\.){3}" + octet},
      {"email", "[a-zA-Z0-9_+-]{1,32}(?:\\.[a-zA-Z0-9_+-]{1,32}){0,3}@" + label + "(?:\\." + label +
                    "){1,3}"},
  };
  return k;
}

bool matches_type(const J& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer")
    return v.is_number_integer() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return false;
}

std::string digits_of(int64_t v) { return std::to_string(v); }

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const J& root) : root_(root) {}

  Result<Grammar> compile_root() {
    FATHOM_ASSIGN_OR_RETURN(Sequence value, compile(root_, "", 0));
    return b_.build(b_.rule("root", {std::move(value)}));
  }

  Result<Grammar> any_object_root() { return b_.build(b_.rule("root", {{any_object()}})); }

 private:
  static Status error(const std::string& at, const std::string& what) {
    return invalid_argument("at " + (at.empty() ? std::string("/") : at) + ": " + what);
  }

  // --- pieces shared by every schema -------------------------------------------------------
  Sequence space() {  // the optional space after ':' and ','
    if (!space_) space_ = b_.rule("sp", {b_.literal(" "), {}});
    return {GrammarBuilder::ref(*space_)};
  }
  Sequence comma() {
    Sequence s = b_.literal(",");
    Sequence sp = space();
    s.insert(s.end(), sp.begin(), sp.end());
    return s;
  }
  Sequence colon() {
    Sequence s = b_.literal(":");
    Sequence sp = space();
    s.insert(s.end(), sp.begin(), sp.end());
    return s;
  }
  Sequence string_char() {
    if (!string_char_)
      string_char_ = char_symbols(b_, CharClass::any(), TextContext::kJsonString, "char");
    return *string_char_;
  }
  Symbol any_string() {
    if (!any_string_) {
      Sequence body = b_.literal("\"");
      const RuleId chars = *b_.repeat("chars", string_char(), 0, -1);
      body.push_back(GrammarBuilder::ref(chars));
      body.push_back(b_.bytes(ByteSet::of('"')));
      any_string_ = b_.rule("string", {std::move(body)});
    }
    return GrammarBuilder::ref(*any_string_);
  }
  Symbol digit() { return b_.bytes(ByteSet::range('0', '9')); }
  // [1-9][0-9]{0,14}: a positive integer's digits.
  Sequence positive_digits() {
    if (!positive_) {
      Sequence s = {b_.bytes(ByteSet::range('1', '9'))};
      s.push_back(GrammarBuilder::ref(*b_.repeat("digits", {digit()}, 0, kMaxDigits - 1)));
      positive_ = b_.rule("positive", {std::move(s)});
    }
    return {GrammarBuilder::ref(*positive_)};
  }
  Sequence unsigned_integer() {
    if (!unsigned_) unsigned_ = b_.rule("unsigned", {b_.literal("0"), positive_digits()});
    return {GrammarBuilder::ref(*unsigned_)};
  }
  Sequence fraction() {  // ("." [0-9]{1,15})?
    if (!fraction_) {
      Sequence s = b_.literal(".");
      s.push_back(GrammarBuilder::ref(*b_.repeat("fraction_digits", {digit()}, 1, kMaxDigits)));
      fraction_ = b_.rule("fraction", {std::move(s), {}});
    }
    return {GrammarBuilder::ref(*fraction_)};
  }
  Symbol any_integer() {
    if (!integer_) {
      Sequence neg = b_.literal("-");
      Sequence u = unsigned_integer();
      neg.insert(neg.end(), u.begin(), u.end());
      integer_ = b_.rule("integer", {unsigned_integer(), std::move(neg)});
    }
    return GrammarBuilder::ref(*integer_);
  }
  Symbol any_number() {
    if (!number_) {
      Sequence exp = {b_.bytes([] {
        ByteSet e = ByteSet::of('e');
        e.add('E');
        return e;
      }())};
      exp.push_back(
          GrammarBuilder::ref(b_.rule("exp_sign", {b_.literal("+"), b_.literal("-"), {}})));
      exp.push_back(GrammarBuilder::ref(*b_.repeat("exp_digits", {digit()}, 1, 2)));
      const RuleId exponent = b_.rule("exponent", {std::move(exp), {}});
      Sequence body = {any_integer()};
      Sequence f = fraction();
      body.insert(body.end(), f.begin(), f.end());
      body.push_back(GrammarBuilder::ref(exponent));
      number_ = b_.rule("number", {std::move(body)});
    }
    return GrammarBuilder::ref(*number_);
  }
  Symbol any_value() {
    if (!value_) {
      value_ = b_.new_rule("value");
      b_.add(*value_, {any_object()});
      Sequence arr = b_.literal("[");
      arr.push_back(GrammarBuilder::ref(
          *b_.separated("values", {GrammarBuilder::ref(*value_)}, comma(), 0, -1)));
      arr.push_back(b_.bytes(ByteSet::of(']')));
      b_.add(*value_, std::move(arr));
      b_.add(*value_, {any_string()});
      b_.add(*value_, {any_number()});
      for (const char* lit : {"true", "false", "null"}) b_.add(*value_, b_.literal(lit));
    }
    return GrammarBuilder::ref(*value_);
  }
  Symbol any_object() {
    if (!object_) {
      object_ = b_.new_rule("object");
      Symbol value = any_value();
      Sequence member = {any_string()};
      Sequence c = colon();
      member.insert(member.end(), c.begin(), c.end());
      member.push_back(value);
      Sequence obj = b_.literal("{");
      obj.push_back(GrammarBuilder::ref(*b_.separated("members", member, comma(), 0, -1)));
      obj.push_back(b_.bytes(ByteSet::of('}')));
      b_.add(*object_, std::move(obj));
    }
    return GrammarBuilder::ref(*object_);
  }

  // --- schemas ---------------------------------------------------------------------------
  Result<Sequence> compile(const J& s, const std::string& at, int depth) {
    if (depth > kMaxDepth)
      return error(at, "the schema nests deeper than " + std::to_string(kMaxDepth) + " levels");
    if (s.is_boolean()) {
      if (!s.get<bool>()) return error(at, "the schema false matches nothing");
      return Sequence{any_value()};
    }
    if (!s.is_object()) return error(at, "a schema must be an object or a boolean");
    bool constraining = false;  // beside $ref / anyOf / allOf, anything but annotations is refused
    for (auto& [key, v] : s.items()) {
      if (annotations().count(key)) continue;
      if (key == "oneOf") return error(at, "oneOf is not supported (anyOf is)");
      if (!keywords().count(key)) return error(at, "the keyword " + key + " is not supported");
      if (key != "$ref" && key != "anyOf" && key != "allOf") constraining = true;
    }
    if (s.contains("uniqueItems") &&
        !(s["uniqueItems"].is_boolean() && !s["uniqueItems"].get<bool>()))
      return error(at, "uniqueItems is not supported");
    if (s.contains("nullable")) {
      if (!s["nullable"].is_boolean()) return error(at, "nullable must be a boolean");
      if (s["nullable"].get<bool>()) {
        J rest = s;
        rest.erase("nullable");
        FATHOM_ASSIGN_OR_RETURN(Sequence inner, compile(rest, at, depth + 1));
        return Sequence{GrammarBuilder::ref(
            b_.rule(rule_name(at, "nullable"), {std::move(inner), b_.literal("null")}))};
      }
    }
    const int combinators = s.contains("$ref") + s.contains("anyOf") + s.contains("allOf");
    if (combinators > 0 && (constraining || combinators > 1))
      return error(
          at, "$ref, anyOf and allOf are supported only beside annotations, not other keywords");
    if (s.contains("$ref")) return reference(s["$ref"], at, depth);
    if (s.contains("anyOf")) return any_of(s["anyOf"], at, depth);
    if (s.contains("allOf")) {
      const J& all = s["allOf"];
      if (!all.is_array() || all.size() != 1)
        return error(at, "allOf is supported only with a single schema");
      return compile(all[0], at + "/allOf/0", depth + 1);
    }
    if (s.contains("enum") || s.contains("const")) return enumeration(s, at);

    std::vector<std::string> types;
    if (s.contains("type")) {
      const J& t = s["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const J& x : t) {
          if (!x.is_string()) return error(at, "type must be a string or a list of strings");
          types.push_back(x.get<std::string>());
        }
      } else {
        return error(at, "type must be a string or a list of strings");
      }
    } else if (s.contains("properties") || s.contains("required") ||
               s.contains("additionalProperties")) {
      types = {"object"};
    } else if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems") ||
               s.contains("maxItems")) {
      types = {"array"};
    } else if (s.contains("minLength") || s.contains("maxLength") || s.contains("pattern") ||
               s.contains("format")) {
      types = {"string"};
    } else if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
               s.contains("exclusiveMaximum")) {
      types = {"number"};
    } else {
      return Sequence{any_value()};
    }
    std::vector<Sequence> alts;
    for (const std::string& t : types) {
      FATHOM_ASSIGN_OR_RETURN(Sequence one, typed(t, s, at, depth));
      alts.push_back(std::move(one));
    }
    if (alts.size() == 1) return std::move(alts.front());
    return Sequence{GrammarBuilder::ref(b_.rule(rule_name(at, "types"), std::move(alts)))};
  }

  std::string rule_name(const std::string& at, const std::string& what) {
    return (at.empty() ? "" : at + "/") + what;
  }

  Result<Sequence> typed(const std::string& t, const J& s, const std::string& at, int depth) {
    if (t == "object") return object(s, at, depth);
    if (t == "array") return array(s, at, depth);
    if (t == "string") return string(s, at);
    if (t == "integer" || t == "number") return numeric(t == "integer", s, at);
    if (t == "boolean")
      return Sequence{GrammarBuilder::ref(
          b_.rule(rule_name(at, "boolean"), {b_.literal("true"), b_.literal("false")}))};
    if (t == "null") return b_.literal("null");
    return error(at, "unknown type \"" + t + "\"");
  }

  Result<Sequence> reference(const J& ref, const std::string& at, int depth) {
    if (!ref.is_string()) return error(at, "$ref must be a string");
    const std::string r = ref.get<std::string>();
    if (r.empty() || r[0] != '#')
      return error(at, "only local $refs (\"#...\") are supported, got \"" + r + "\"");
    auto known = refs_.find(r);
    if (known != refs_.end()) return Sequence{GrammarBuilder::ref(known->second)};
    const J* target = nullptr;
    try {
      target = &root_.at(J::json_pointer(r.substr(1)));
    } catch (const J::exception&) {
      return error(at, "$ref \"" + r + "\" points nowhere in the schema");
    }
    const RuleId rule = b_.new_rule("ref" + r.substr(1));
    refs_.emplace(r, rule);
    FATHOM_ASSIGN_OR_RETURN(Sequence body, compile(*target, r.substr(1), depth + 1));
    b_.add(rule, std::move(body));
    return Sequence{GrammarBuilder::ref(rule)};
  }

  Result<Sequence> any_of(const J& list, const std::string& at, int depth) {
    if (!list.is_array() || list.empty())
      return error(at, "anyOf must be a non-empty list of schemas");
    std::vector<Sequence> alts;
    for (size_t i = 0; i < list.size(); ++i) {
      FATHOM_ASSIGN_OR_RETURN(Sequence one,
                              compile(list[i], at + "/anyOf/" + std::to_string(i), depth + 1));
      alts.push_back(std::move(one));
    }
    return Sequence{GrammarBuilder::ref(b_.rule(rule_name(at, "anyOf"), std::move(alts)))};
  }

  Result<Sequence> enumeration(const J& s, const std::string& at) {
    std::vector<J> values;
    if (s.contains("const")) values.push_back(s["const"]);
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty())
        return error(at, "enum must be a non-empty list");
      if (s.contains("const")) return error(at, "enum beside const is not supported");
      for (const J& v : s["enum"]) values.push_back(v);
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      const J& t = s["type"];
      if (t.is_string())
        types.push_back(t.get<std::string>());
      else if (t.is_array())
        for (const J& x : t)
          if (x.is_string()) types.push_back(x.get<std::string>());
    }
    std::vector<Sequence> alts;
    for (const J& v : values) {
      if (!types.empty() && std::none_of(types.begin(), types.end(),
                                         [&](const std::string& t) { return matches_type(v, t); }))
        continue;
      alts.push_back(b_.literal(v.dump(-1, ' ', false, J::error_handler_t::replace)));
    }
    if (alts.empty()) return error(at, "no enum value has the schema's type");
    return Sequence{GrammarBuilder::ref(b_.rule(rule_name(at, "enum"), std::move(alts)))};
  }

  Result<std::optional<int64_t>> count(const J& s, const char* name, const std::string& at) {
    if (!s.contains(name)) return std::optional<int64_t>();
    const J& v = s[name];
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      return error(at, std::string(name) + " must be a non-negative integer");
    return std::optional<int64_t>(v.get<int64_t>());
  }

  Result<Sequence> object(const J& s, const std::string& at, int depth) {
    static const J kEmpty = J::object();
    const J& props = s.contains("properties") ? s["properties"] : kEmpty;
    if (!props.is_object()) return error(at, "properties must be an object");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return error(at, "required must be a list of property names");
      for (const J& r : s["required"]) {
        if (!r.is_string()) return error(at, "required must be a list of property names");
        if (!props.contains(r.get<std::string>()))
          return error(
              at, "the required property \"" + r.get<std::string>() + "\" is not in properties");
        required.insert(r.get<std::string>());
      }
    }
    std::optional<Sequence> extra;  // one additional member, when allowed
    if (s.contains("additionalProperties")) {
      const J& ap = s["additionalProperties"];
      if (!(ap.is_boolean() && !ap.get<bool>())) {
        FATHOM_ASSIGN_OR_RETURN(Sequence value,
                                compile(ap, at + "/additionalProperties", depth + 1));
        Sequence member = {any_string()};
        Sequence c = colon();
        member.insert(member.end(), c.begin(), c.end());
        member.insert(member.end(), value.begin(), value.end());
        extra = std::move(member);
      }
    }
    std::vector<std::pair<Sequence, bool>> members;  // key: value, required
    for (auto& [key, schema] : props.items()) {
      FATHOM_ASSIGN_OR_RETURN(Sequence value,
                              compile(schema, at + "/properties/" + key, depth + 1));
      Sequence kv = b_.literal(J(key).dump(-1, ' ', false, J::error_handler_t::replace));
      Sequence c = colon();
      kv.insert(kv.end(), c.begin(), c.end());
      kv.insert(kv.end(), value.begin(), value.end());
      members.emplace_back(std::move(kv), required.count(key) > 0);
    }
    // Backwards: after[i] follows a member already written (so it starts with a comma);
    // first[i] is where nothing has been written yet.
    const std::string base = rule_name(at, "object");
    RuleId after, first;
    if (extra) {
      Sequence more = comma();
      more.insert(more.end(), extra->begin(), extra->end());
      FATHOM_ASSIGN_OR_RETURN(after, b_.repeat(base + "_extra", more, 0, -1));
      Sequence some = *extra;
      some.push_back(GrammarBuilder::ref(after));
      first = b_.rule(base + "_extra_first", {std::move(some), {}});
    } else {
      after = first = b_.rule(base + "_end", {{}});
    }
    for (size_t i = members.size(); i-- > 0;) {
      const auto& [kv, req] = members[i];
      Sequence with_comma = comma();
      with_comma.insert(with_comma.end(), kv.begin(), kv.end());
      with_comma.push_back(GrammarBuilder::ref(after));
      Sequence lead = kv;
      lead.push_back(GrammarBuilder::ref(after));
      std::vector<Sequence> a_alts = {std::move(with_comma)}, f_alts = {std::move(lead)};
      if (!req) {
        a_alts.push_back({GrammarBuilder::ref(after)});
        f_alts.push_back({GrammarBuilder::ref(first)});
      }
      const RuleId a = b_.rule(base + "_" + std::to_string(i) + "_after", std::move(a_alts));
      first = b_.rule(base + "_" + std::to_string(i), std::move(f_alts));
      after = a;
    }
    Sequence out = b_.literal("{");
    out.push_back(GrammarBuilder::ref(first));
    out.push_back(b_.bytes(ByteSet::of('}')));
    return Sequence{GrammarBuilder::ref(b_.rule(base, {std::move(out)}))};
  }

  Result<Sequence> array(const J& s, const std::string& at, int depth) {
    FATHOM_ASSIGN_OR_RETURN(auto min_items, count(s, "minItems", at));
    FATHOM_ASSIGN_OR_RETURN(auto max_items, count(s, "maxItems", at));
    const int64_t min = min_items.value_or(0), max = max_items ? *max_items : -1;
    if (max >= 0 && max < min) return error(at, "maxItems is below minItems");
    const std::string base = rule_name(at, "array");
    Sequence out = b_.literal("[");
    int64_t fixed = 0;  // prefix items, all written
    if (s.contains("prefixItems")) {
      const J& prefix = s["prefixItems"];
      if (!prefix.is_array()) return error(at, "prefixItems must be a list of schemas");
      fixed = static_cast<int64_t>(prefix.size());
      if (max >= 0 && fixed > max)
        return error(at, "prefixItems holds more schemas than maxItems allows");
      for (size_t i = 0; i < prefix.size(); ++i) {
        if (i > 0) {
          Sequence c = comma();
          out.insert(out.end(), c.begin(), c.end());
        }
        FATHOM_ASSIGN_OR_RETURN(
            Sequence item, compile(prefix[i], at + "/prefixItems/" + std::to_string(i), depth + 1));
        out.insert(out.end(), item.begin(), item.end());
      }
    }
    const bool has_items =
        s.contains("items") && !(s["items"].is_boolean() && !s["items"].get<bool>());
    const int64_t rest_min = std::max<int64_t>(0, min - fixed),
                  rest_max = max < 0 ? -1 : max - fixed;
    if (s.contains("prefixItems") && !s.contains("items")) {
      // Further items are optional and unconstrained: write none, unless minItems asks for them.
      if (rest_min > 0) return error(at, "minItems beyond prefixItems needs an items schema");
    } else if (!has_items && s.contains("items")) {
      if (rest_min > 0)
        return error(at, "minItems beyond prefixItems with items: false matches nothing");
    } else if (rest_max != 0) {
      Sequence item;
      if (s.contains("items")) {
        FATHOM_ASSIGN_OR_RETURN(item, compile(s["items"], at + "/items", depth + 1));
      } else {
        item = {any_value()};
      }
      if (fixed > 0) {
        Sequence more = comma();
        more.insert(more.end(), item.begin(), item.end());
        FATHOM_ASSIGN_OR_RETURN(RuleId rest, b_.repeat(base + "_rest", more, rest_min, rest_max));
        out.push_back(GrammarBuilder::ref(rest));
      } else {
        FATHOM_ASSIGN_OR_RETURN(RuleId items,
                                b_.separated(base + "_items", item, comma(), rest_min, rest_max));
        out.push_back(GrammarBuilder::ref(items));
      }
    }
    out.push_back(b_.bytes(ByteSet::of(']')));
    return Sequence{GrammarBuilder::ref(b_.rule(base, {std::move(out)}))};
  }

  Result<Sequence> string(const J& s, const std::string& at) {
    FATHOM_ASSIGN_OR_RETURN(auto min_len, count(s, "minLength", at));
    FATHOM_ASSIGN_OR_RETURN(auto max_len, count(s, "maxLength", at));
    const bool lengths = min_len || max_len;
    std::optional<std::string> pattern;
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return error(at, "pattern must be a string");
      pattern = s["pattern"].get<std::string>();
    }
    if (s.contains("format")) {
      if (!s["format"].is_string()) return error(at, "format must be a string");
      const std::string f = s["format"].get<std::string>();
      auto it = formats().find(f);
      if (it == formats().end())
        return error(at, "the string format \"" + f + "\" is not supported");
      if (pattern) return error(at, "format beside pattern is not supported");
      pattern = it->second;
    }
    if (pattern && lengths)
      return error(at, "minLength / maxLength beside pattern or format is not supported");
    const std::string base = rule_name(at, "string");
    Sequence out = b_.literal("\"");
    if (pattern) {
      Result<RuleId> r = compile_regex(b_, *pattern, TextContext::kJsonString, base + "_pattern");
      if (!r.ok()) return error(at, r.status().message());
      out.push_back(GrammarBuilder::ref(*r));
    } else if (lengths) {
      const int64_t lo = min_len.value_or(0), hi = max_len ? *max_len : -1;
      if (hi >= 0 && hi < lo) return error(at, "maxLength is below minLength");
      Result<RuleId> r = b_.repeat(base + "_chars", string_char(), lo, hi);
      if (!r.ok()) return error(at, r.status().message());
      out.push_back(GrammarBuilder::ref(*r));
    } else {
      return Sequence{any_string()};
    }
    out.push_back(b_.bytes(ByteSet::of('"')));
    return Sequence{GrammarBuilder::ref(b_.rule(base, {std::move(out)}))};
  }

  // --- numbers -----------------------------------------------------------------------------
  // Decimal strings (no leading zeros) of every integer in [lo, hi], 0 <= lo <= hi.
  void digit_range(int64_t lo, int64_t hi, std::vector<Sequence>& out) {
    int64_t pow = 1;
    for (int len = 1; len <= kMaxDigits && (len == 1 || pow <= hi); ++len, pow *= 10) {
      const int64_t a = std::max(lo, len == 1 ? 0 : pow), z = std::min(hi, pow * 10 - 1);
      if (a <= z) same_length(digits_of(a), digits_of(z), {}, out);
    }
  }
  void same_length(const std::string& x, const std::string& y, Sequence prefix,
                   std::vector<Sequence>& out) {
    if (x.empty()) {
      out.push_back(std::move(prefix));
      return;
    }
    const std::string xs = x.substr(1), ys = y.substr(1);
    if (x[0] == y[0]) {
      prefix.push_back(b_.bytes(ByteSet::of(static_cast<uint8_t>(x[0]))));
      same_length(xs, ys, std::move(prefix), out);
      return;
    }
    const bool low_full = xs.find_first_not_of('0') == std::string::npos;
    const bool high_full = ys.find_first_not_of('9') == std::string::npos;
    const char from = low_full ? x[0] : static_cast<char>(x[0] + 1);
    const char to = high_full ? y[0] : static_cast<char>(y[0] - 1);
    if (!low_full) {
      Sequence p = prefix;
      p.push_back(b_.bytes(ByteSet::of(static_cast<uint8_t>(x[0]))));
      same_length(xs, std::string(xs.size(), '9'), std::move(p), out);
    }
    if (from <= to) {
      Sequence p = prefix;
      p.push_back(b_.bytes(ByteSet::range(static_cast<uint8_t>(from), static_cast<uint8_t>(to))));
      for (size_t k = 0; k < xs.size(); ++k) p.push_back(digit());
      out.push_back(std::move(p));
    }
    if (!high_full) {
      Sequence p = prefix;
      p.push_back(b_.bytes(ByteSet::of(static_cast<uint8_t>(y[0]))));
      same_length(std::string(ys.size(), '0'), ys, std::move(p), out);
    }
  }

  Result<std::optional<double>> bound(const J& s, const char* name, const std::string& at) {
    if (!s.contains(name)) return std::optional<double>();
    if (!s[name].is_number()) return error(at, std::string(name) + " must be a number");
    return std::optional<double>(s[name].get<double>());
  }

  Result<Sequence> numeric(bool integer, const J& s, const std::string& at) {
    FATHOM_ASSIGN_OR_RETURN(auto minimum, bound(s, "minimum", at));
    FATHOM_ASSIGN_OR_RETURN(auto maximum, bound(s, "maximum", at));
    FATHOM_ASSIGN_OR_RETURN(auto ex_min, bound(s, "exclusiveMinimum", at));
    FATHOM_ASSIGN_OR_RETURN(auto ex_max, bound(s, "exclusiveMaximum", at));
    if (!minimum && !maximum && !ex_min && !ex_max)
      return Sequence{integer ? any_integer() : any_number()};
    const std::string base = rule_name(at, integer ? "integer" : "number");
    if (integer) {
      // The integer bounds: the tightest of each pair. A bound is clamped to +-1e16 before it
      // becomes an integer (1e40 has no int64; the clamp is past kMaxBound either way).
      const auto in_range = [](double v) { return std::clamp(v, -1e16, 1e16); };
      int64_t lo = -kMaxBound, hi = kMaxBound;
      if (minimum) lo = std::max<int64_t>(lo, static_cast<int64_t>(std::ceil(in_range(*minimum))));
      if (ex_min)
        lo = std::max<int64_t>(lo, static_cast<int64_t>(std::floor(in_range(*ex_min))) + 1);
      if (maximum) hi = std::min<int64_t>(hi, static_cast<int64_t>(std::floor(in_range(*maximum))));
      if (ex_max)
        hi = std::min<int64_t>(hi, static_cast<int64_t>(std::ceil(in_range(*ex_max))) - 1);
      if (lo > hi) return error(at, "the bounds leave no integer");
      std::vector<Sequence> alts;
      if (lo < 0) {  // negatives: "-" and the magnitudes in [max(1, -hi), -lo]
        std::vector<Sequence> mags;
        digit_range(std::max<int64_t>(1, hi < 0 ? -hi : 1), -lo, mags);
        for (Sequence& m : mags) {
          Sequence neg = b_.literal("-");
          neg.insert(neg.end(), m.begin(), m.end());
          alts.push_back(std::move(neg));
        }
      }
      if (hi >= 0) digit_range(std::max<int64_t>(lo, 0), hi, alts);
      return Sequence{GrammarBuilder::ref(b_.rule(base, std::move(alts)))};
    }
    // Numbers: bounds that are non-negative integers, inclusive.
    const auto whole = [](const std::optional<double>& v) {
      return !v || (*v >= 0 && *v <= static_cast<double>(kMaxBound) && std::floor(*v) == *v);
    };
    if (ex_min || ex_max || !whole(minimum) || !whole(maximum))
      return error(at,
                   "bounds on numbers are supported only as inclusive non-negative integers (use "
                   "type integer "
                   "for other ranges)");
    const int64_t lo = minimum ? static_cast<int64_t>(*minimum) : 0;
    const int64_t hi = maximum ? static_cast<int64_t>(*maximum) : kMaxBound;
    if (lo > hi) return error(at, "maximum is below minimum");
    std::vector<Sequence> alts;
    if (lo < hi) {  // [lo, hi) with any fraction, then hi itself
      std::vector<Sequence> ints;
      digit_range(lo, hi - 1, ints);
      const RuleId int_part = b_.rule(base + "_int", std::move(ints));
      Sequence with_fraction = {GrammarBuilder::ref(int_part)};
      Sequence f = fraction();
      with_fraction.insert(with_fraction.end(), f.begin(), f.end());
      alts.push_back(std::move(with_fraction));
    }
    alts.push_back(b_.literal(digits_of(hi)));
    return Sequence{GrammarBuilder::ref(b_.rule(base, std::move(alts)))};
  }

  const J& root_;
  GrammarBuilder b_;
  std::map<std::string, RuleId> refs_;
  std::optional<RuleId> space_, any_string_, positive_, unsigned_, fraction_, integer_, number_,
      value_, object_;
  std::optional<Sequence> string_char_;
};

}  // namespace

Result<Grammar> json_schema_grammar(const nlohmann::ordered_json& schema) {
  try {
    return SchemaCompiler(schema).compile_root();
  } catch (const J::exception& e) {
    return invalid_argument(std::string("the schema could not be read: ") + e.what());
  }
}

Result<Grammar> json_object_grammar() { return SchemaCompiler(J::object()).any_object_root(); }

}  // namespace fathom::grammar
