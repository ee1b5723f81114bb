#include "server/protocol/structured_output.h"

#include "grammar/json_schema.h"
#include "grammar/regex.h"

namespace fathom::server::protocol {
namespace {

Result<GrammarPtr> shared(const std::string& field, Result<grammar::Grammar> g) {
  if (!g.ok()) return invalid_argument(field + ": " + g.status().message());
  return std::make_shared<const grammar::Grammar>(std::move(*g));
}

// A schema given as an object, or (vLLM) as JSON text.
Result<GrammarPtr> schema_grammar(const Json& schema, const std::string& field) {
  if (schema.is_string()) {
    Result<Json> parsed = json::parse_json_object<Json>(schema.get<std::string>());
    if (!parsed.ok())
      return invalid_argument(field + " must be a JSON schema: " + parsed.status().message());
    return shared(field, grammar::json_schema_grammar(*parsed));
  }
  if (!schema.is_object() && !schema.is_boolean())
    return invalid_argument(field + " must be a JSON schema object");
  return shared(field, grammar::json_schema_grammar(schema));
}

Result<GrammarPtr> regex(const Json& v, const std::string& field) {
  if (!v.is_string()) return invalid_argument(field + " must be a string (a regular expression)");
  return shared(field, grammar::regex_grammar(v.get<std::string>()));
}

Result<GrammarPtr> choice(const Json& v, const std::string& field) {
  if (!v.is_array() || v.empty())
    return invalid_argument(field + " must be a non-empty list of strings");
  std::vector<std::string> choices;
  for (const Json& c : v) {
    if (!c.is_string()) return invalid_argument(field + " must be a non-empty list of strings");
    choices.push_back(c.get<std::string>());
  }
  return shared(field, grammar::choice_grammar(choices));
}

}  // namespace

Result<GrammarPtr> compile_format(const Json& format, const std::string& field, bool flat) {
  if (!format.is_object()) return invalid_argument(field + " must be an object");
  FATHOM_ASSIGN_OR_RETURN(auto type, get_string(format, "type"));
  if (!type) return invalid_argument(field + ".type is required");
  if (*type == "text") return GrammarPtr();
  if (*type == "json_object") return shared(field, grammar::json_object_grammar());
  if (*type != "json_schema")
    return invalid_argument(field +
                            ".type must be \"text\", \"json_object\" or \"json_schema\", got \"" +
                            *type + "\"");
  const Json* spec = &format;
  std::string at = field;
  if (!flat) {
    auto js = format.find("json_schema");
    if (js == format.end() || !js->is_object())
      return invalid_argument(field + ".json_schema must be an object");
    spec = &*js;
    at += ".json_schema";
  }
  FATHOM_ASSIGN_OR_RETURN(auto name, get_string(*spec, "name"));
  if (name && (name->empty() || name->size() > 64))
    return invalid_argument(at + ".name must be 1 to 64 characters");
  FATHOM_ASSIGN_OR_RETURN(auto strict, get_bool(*spec, "strict"));
  (void)strict;  // the constraint is always strict
  auto schema = spec->find("schema");
  if (schema == spec->end() || schema->is_null())
    return shared(at, grammar::json_schema_grammar(Json::object()));
  if (!schema->is_object()) return invalid_argument(at + ".schema must be an object");
  return schema_grammar(*schema, at + ".schema");
}

Result<GrammarPtr> parse_structured_output(const Json& body) {
  struct Given {
    const char* field;
    const Json* value;
  };
  std::vector<Given> given;
  for (const char* f : {"response_format", "guided_json", "guided_regex", "guided_choice",
                        "guided_grammar", "structured_outputs"}) {
    auto it = body.find(f);
    if (it != body.end() && !it->is_null()) given.push_back({f, &*it});
  }
  if (given.empty()) return GrammarPtr();
  // response_format text plus a guided_* field is fine: text asks for nothing.
  if (given.size() > 1) {
    const bool text_only = given[0].value->is_object() &&
                           std::string(given[0].field) == "response_format" &&
                           given[0].value->value("type", Json()) == "text";
    if (!text_only || given.size() > 2)
      return invalid_argument(std::string(given[1].field) +
                              ": give only one of response_format, guided_json, "
                              "guided_regex, guided_choice and structured_outputs");
    given.erase(given.begin());
  }
  const std::string field = given[0].field;
  const Json& v = *given[0].value;
  if (field == "response_format") return compile_format(v, field, false);
  if (field == "guided_json") return schema_grammar(v, field);
  if (field == "guided_regex") return regex(v, field);
  if (field == "guided_choice") return choice(v, field);
  if (field == "guided_grammar")
    return invalid_argument(
        "guided_grammar (EBNF grammars) is not supported; use guided_json or guided_regex");
  // structured_outputs: {json | regex | choice}, exactly one.
  if (!v.is_object()) return invalid_argument("structured_outputs must be an object");
  std::vector<std::string> keys;
  for (auto& [k, x] : v.items())
    if (!x.is_null()) keys.push_back(k);
  if (keys.size() != 1)
    return invalid_argument("structured_outputs must give exactly one of json, regex and choice");
  const std::string sub = "structured_outputs." + keys[0];
  if (keys[0] == "json") return schema_grammar(v["json"], sub);
  if (keys[0] == "regex") return regex(v["regex"], sub);
  if (keys[0] == "choice") return choice(v["choice"], sub);
  return invalid_argument(sub + " is not supported (json, regex or choice are)");
}

}  // namespace fathom::server::protocol
