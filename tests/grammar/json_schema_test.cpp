#include "grammar/json_schema.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "grammar_walk.h"

namespace fathom::grammar {
namespace {

using J = nlohmann::ordered_json;
using testing::full_match;

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// An independent validator for the keywords the tests use: the oracle for the compiler.
bool valid(const J& v, const J& s, const J& root) {
  if (s.is_boolean()) return s.get<bool>();
  if (s.contains("$ref"))
    return valid(v, root.at(J::json_pointer(s["$ref"].get<std::string>().substr(1))), root);
  if (s.contains("anyOf")) {
    for (const J& b : s["anyOf"])
      if (valid(v, b, root)) return true;
    return false;
  }
  if (s.contains("nullable") && s["nullable"].get<bool>() && v.is_null()) return true;
  if (s.contains("const") && v != s["const"]) return false;
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
    return false;
  if (s.contains("type")) {
    const J types = s["type"].is_array() ? s["type"] : J::array({s["type"]});
    bool any = false;
    for (const J& t : types) {
      const std::string name = t.get<std::string>();
      any = any || (name == "string" && v.is_string()) ||
            (name == "integer" && v.is_number_integer()) || (name == "number" && v.is_number()) ||
            (name == "boolean" && v.is_boolean()) || (name == "null" && v.is_null()) ||
            (name == "object" && v.is_object()) || (name == "array" && v.is_array());
    }
    if (!any) return false;
  }
  if (v.is_object()) {
    for (const J& r : s.value("required", J::array()))
      if (!v.contains(r.get<std::string>())) return false;
    const J props = s.value("properties", J::object());
    for (auto& [k, x] : v.items()) {
      if (props.contains(k)) {
        if (!valid(x, props[k], root)) return false;
      } else if (!s.contains("additionalProperties") ||
                 !valid(x, s["additionalProperties"], root)) {
        return false;
      }
    }
  }
  if (v.is_array()) {
    if (v.size() < s.value("minItems", size_t{0}) ||
        v.size() > s.value("maxItems", size_t{1} << 30))
      return false;
    const J prefix = s.value("prefixItems", J::array());
    for (size_t i = 0; i < v.size(); ++i) {
      if (i < prefix.size()) {
        if (!valid(v[i], prefix[i], root)) return false;
      } else if (s.contains("items") && !valid(v[i], s["items"], root)) {
        return false;
      }
    }
  }
  if (v.is_string()) {
    const std::string str = v.get<std::string>();
    const size_t n = code_points(str);
    if (n < s.value("minLength", size_t{0}) || n > s.value("maxLength", size_t{1} << 30))
      return false;
    if (s.contains("pattern") &&
        !std::regex_match(str, std::regex(s["pattern"].get<std::string>())))
      return false;
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (s.contains("minimum") && x < s["minimum"].get<double>()) return false;
    if (s.contains("maximum") && x > s["maximum"].get<double>()) return false;
    if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>()) return false;
    if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>()) return false;
  }
  return true;
}

std::shared_ptr<const Grammar> compile(const J& schema) {
  Result<Grammar> g = json_schema_grammar(schema);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return std::make_shared<const Grammar>(g.ok() ? *std::move(g) : Grammar{});
}

// Every random output of the schema's grammar parses and validates.
void expect_outputs_valid(const J& schema, int samples = 300) {
  auto g = compile(schema);
  std::mt19937 rng(11);
  for (int i = 0; i < samples; ++i) {
    bool ok = false;
    const std::string text = testing::random_walk(g, rng, 64, ok);
    ASSERT_TRUE(ok) << "walk stuck after: " << text;
    J v;
    try {
      v = J::parse(text);
    } catch (const J::exception& e) {
      FAIL() << "not JSON: " << text << " (" << e.what() << ")";
    }
    ASSERT_TRUE(valid(v, schema, schema)) << "invalid for " << schema.dump() << ": " << text;
  }
}

TEST(JsonSchemaTest, ObjectsWithRequiredAndOptionalProperties) {
  expect_outputs_valid(J::parse(R"({
    "type": "object",
    "properties": {
      "name": {"type": "string", "maxLength": 6},
      "age": {"type": "integer", "minimum": 0, "maximum": 130},
      "email": {"type": "string", "minLength": 1, "maxLength": 3},
      "tags": {"type": "array", "items": {"enum": ["a", "b", 3, null]}, "maxItems": 3},
      "ok": {"type": "boolean"}
    },
    "required": ["name", "age"]
  })"));
}

TEST(JsonSchemaTest, OnlyOptionalPropertiesStillWriteValidCommas) {
  const J schema =
      J::parse(R"({"properties": {"a": {"const": 1}, "b": {"const": 2}, "c": {"const": 3}}})");
  auto g = compile(schema);
  for (const char* yes :
       {"{}", R"({"a":1})", R"({"b": 2})", R"({"a":1,"c":3})", R"({"a":1, "b":2, "c":3})"})
    EXPECT_TRUE(full_match(*g, yes)) << yes;
  for (const char* no :
       {R"({,"a":1})", R"({"a":1,})", R"({"b":2,"a":1})", R"({"d":4})", R"({"a":1 })"})
    EXPECT_FALSE(full_match(*g, no)) << no;
  expect_outputs_valid(schema);
}

TEST(JsonSchemaTest, ArraysTuplesAndNesting) {
  expect_outputs_valid(J::parse(R"({
    "type": "object",
    "properties": {
      "points": {"type": "array", "minItems": 1, "maxItems": 3,
                 "items": {"type": "object", "properties": {"x": {"type": "number", "minimum": 0, "maximum": 9},
                                                             "y": {"type": "integer", "exclusiveMinimum": -5, "exclusiveMaximum": 5}},
                           "required": ["x", "y"]}},
      "pair": {"type": "array", "prefixItems": [{"type": "string", "maxLength": 2}, {"type": "null"}]}
    },
    "required": ["points", "pair"]
  })"));
}

TEST(JsonSchemaTest, AnyOfRefsAndRecursion) {
  expect_outputs_valid(J::parse(R"({
    "$defs": {
      "leaf": {"type": "string", "enum": ["x", "y"]},
      "tree": {"type": "object", "properties": {"v": {"$ref": "#/$defs/leaf"},
               "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/tree"}}}, "required": ["v"]}
    },
    "anyOf": [{"$ref": "#/$defs/tree"}, {"type": "null"}, {"type": ["integer", "boolean"], "minimum": 10, "maximum": 12}]
  })"));
}

TEST(JsonSchemaTest, PatternsAndFormats) {
  expect_outputs_valid(J::parse(R"({"type": "object", "properties": {
      "code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{2,4}$"},
      "quote": {"type": "string", "pattern": "a\"b\\\\c"}}, "required": ["code", "quote"]})"));
  const std::map<std::string, std::regex> checks = {
      {"date", std::regex(R"(\d{4}-\d{2}-\d{2})")},
      {"date-time",
       std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))")},
      {"uuid", std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")},
      {"ipv4", std::regex(R"((\d{1,3}\.){3}\d{1,3})")},
      {"email", std::regex(R"([^@]+@[^@]+\.[^@]+)")}};
  std::mt19937 rng(3);
  for (const auto& [format, check] : checks) {
    auto g = compile(J{{"type", "string"}, {"format", format}});
    for (int i = 0; i < 50; ++i) {
      bool ok = false;
      const std::string text = testing::random_walk(g, rng, 64, ok);
      ASSERT_TRUE(ok);
      EXPECT_TRUE(std::regex_match(J::parse(text).get<std::string>(), check))
          << format << ": " << text;
    }
  }
}

TEST(JsonSchemaTest, StringsAreValidJsonWithEscapes) {
  auto g = compile(J{{"type", "string"}, {"maxLength", 3}});
  EXPECT_TRUE(full_match(*g, R"("a\"b")"));
  EXPECT_TRUE(full_match(*g, R"("\n\t\\")"));
  EXPECT_TRUE(full_match(*g, "\"\xC3\xA9\xF0\x9F\x98\x80\""));  // é and an emoji: two characters
  EXPECT_FALSE(full_match(*g, "\"abcd\""));
  EXPECT_FALSE(full_match(*g, "\"a\nb\""));   // a raw newline is not JSON
  EXPECT_FALSE(full_match(*g, "\"\xC3(\""));  // broken UTF-8
}

TEST(JsonSchemaTest, NumbersAreJsonNumbers) {
  auto g = compile(J{{"type", "number"}});
  for (const char* yes : {"0", "-1", "3.25", "1e5", "-0.5E-3", "10"})
    EXPECT_TRUE(full_match(*g, yes)) << yes;
  for (const char* no : {"01", "+1", "1.", ".5", "1e", "--1", "1e999"})
    EXPECT_FALSE(full_match(*g, no)) << no;
  auto range = compile(J::parse(R"({"type": "integer", "minimum": -123, "maximum": 4567})"));
  for (int v = -130; v <= 4600; ++v)
    ASSERT_EQ(full_match(*range, std::to_string(v)), v >= -123 && v <= 4567) << v;
  auto positive = compile(J::parse(R"({"type": "integer", "exclusiveMinimum": 0})"));
  EXPECT_FALSE(full_match(*positive, "0"));
  EXPECT_TRUE(full_match(*positive, "999999999999999"));
  EXPECT_FALSE(full_match(*positive, "-3"));
  // Bounds far past int64 (found by grammar_fuzz): clamped, never converted as they are.
  auto wide =
      compile(J::parse(R"({"type": "integer", "minimum": -1e40, "exclusiveMaximum": 1e300})"));
  EXPECT_TRUE(full_match(*wide, "-999999999999999"));
  EXPECT_TRUE(full_match(*wide, "999999999999999"));
  for (const char* none : {R"({"type": "integer", "minimum": 1e40, "maximum": 1204})",
                           R"({"type": "integer", "exclusiveMinimum": 1e40})",
                           R"({"type": "integer", "maximum": -1e40})",
                           R"({"type": "integer", "exclusiveMaximum": -1e300})"}) {
    Result<Grammar> r = json_schema_grammar(J::parse(none));
    ASSERT_FALSE(r.ok()) << none;
    EXPECT_NE(r.status().message().find("the bounds leave no integer"), std::string::npos)
        << r.status().message();
  }
}

TEST(JsonSchemaTest, JsonObjectModeIsAnyObject) {
  Result<Grammar> r = json_object_grammar();
  ASSERT_TRUE(r.ok());
  auto g = std::make_shared<const Grammar>(*r);
  for (const char* yes : {"{}", R"({"a":[1,{"b":null}],"c":"d"})", R"({"x": true, "y": -2.5e3})"})
    EXPECT_TRUE(full_match(*g, yes)) << yes;
  for (const char* no : {"[]", "1", R"({"a"})", R"({a:1})"}) EXPECT_FALSE(full_match(*g, no)) << no;
}

TEST(JsonSchemaTest, UnsupportedKeywordsAreRefusedWithTheirPlace) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"type": "object", "properties": {"a": {"type": "string", "minProperties": 1}}})",
       "at /properties/a: the keyword minProperties"},
      {R"({"oneOf": [{"type": "string"}]})", "oneOf is not supported"},
      {R"({"type": "array", "uniqueItems": true})", "uniqueItems"},
      {R"({"type": "string", "format": "hostname-ish"})", "format \"hostname-ish\""},
      {R"({"type": "number", "minimum": -1.5})", "bounds on numbers"},
      {R"({"$ref": "#/$defs/missing"})", "points nowhere"},
      {R"({"$ref": "https://example.com/s.json"})", "only local"},
      {R"({"type": "object", "required": ["x"]})", "\"x\" is not in properties"},
      {R"({"type": "strin"})", "unknown type"},
      {R"({"type": "string", "pattern": "(a)\\1"})", "backreferences"},
      {R"({"type": "string", "maxLength": 100000000000})", "too large"},
      {R"({"type": "integer", "minimum": 5, "maximum": 1})", "no integer"},
      {R"(false)", "matches nothing"},
      {R"({"type": "string", "$ref": "#"})", "beside annotations"}};
  for (const auto& [text, words] : cases) {
    Result<Grammar> g = json_schema_grammar(J::parse(text));
    ASSERT_FALSE(g.ok()) << text;
    EXPECT_NE(g.status().message().find(words), std::string::npos)
        << text << ": " << g.status().message();
  }
}

TEST(JsonSchemaTest, AnnotationsAndEmptySchemasAreAccepted) {
  auto g = compile(J::parse(R"({"title": "T", "description": "d", "type": "object", "properties":
      {"a": {"title": "A", "default": 1, "examples": [1], "type": "integer"}, "any": {}}, "required": ["a", "any"],
      "additionalProperties": false})"));
  EXPECT_TRUE(full_match(*g, R"({"a":1,"any":[true]})"));
  EXPECT_FALSE(full_match(*g, R"({"a":1})"));
}

TEST(JsonSchemaTest, DeepNestingIsRefusedNotOverflowed) {
  J s = {{"type", "string"}};
  for (int i = 0; i < 200; ++i) s = J{{"type", "array"}, {"items", s}};
  EXPECT_FALSE(json_schema_grammar(s).ok());
}

}  // namespace
}  // namespace fathom::grammar
