#include "server/protocol/tool_choice.h"

#include "grammar/json_schema.h"

namespace fathom::server::protocol {
namespace {

// A function's parameter schema; a function without one takes no arguments.
Json parameters_of(const Json& tool) {
  const Json& f = tool["function"];
  auto p = f.find("parameters");
  if (p == f.end() || p->is_null()) return Json{{"type", "object"}, {"properties", Json::object()}};
  return *p;
}

Result<GrammarPtr> compile(const Json& schema, const std::string& field) {
  Result<grammar::Grammar> g = grammar::json_schema_grammar(schema);
  if (!g.ok()) return invalid_argument(field + ": " + g.status().message());
  return std::make_shared<const grammar::Grammar>(std::move(*g));
}

}  // namespace

Result<GrammarPtr> forced_tool_grammar(const ChatRequest& r) {
  if (r.tool_choice == "function") {
    for (size_t k = 0; k < r.tools.size(); ++k) {
      if (r.tools[k]["function"]["name"] == r.tool_choice_name)
        return compile(parameters_of(r.tools[k]),
                       "tools[" + std::to_string(k) + "].function.parameters");
    }
    return invalid_argument("tool_choice names the function \"" + r.tool_choice_name +
                            "\" that is not in tools");
  }
  if (r.tool_choice != "required") return GrammarPtr();
  // [{"name": <one of the tools>, "parameters": <that tool's schema>}, ...]; each tool is
  // compiled alone first so that an error names the tool it is in.
  Json calls = Json::array();
  for (size_t k = 0; k < r.tools.size(); ++k) {
    const Json params = parameters_of(r.tools[k]);
    FATHOM_RETURN_IF_ERROR(
        compile(params, "tools[" + std::to_string(k) + "].function.parameters").status());
    calls.push_back(
        {{"type", "object"},
         {"properties",
          {{"name", {{"const", r.tools[k]["function"]["name"]}}}, {"parameters", params}}},
         {"required", {"name", "parameters"}}});
  }
  Json list = {{"type", "array"}, {"items", {{"anyOf", std::move(calls)}}}, {"minItems", 1}};
  if (!r.parallel_tool_calls) list["maxItems"] = 1;
  return compile(list, "tools");
}

std::string tools_system_prompt(const Json& tools, bool parallel_tool_calls) {
  // Short on purpose: it is paid on every request.
  std::string text = "# Tools\nYou may call these functions (parameters as JSON schema):\n";
  for (const Json& t : tools) {
    const Json& f = t["function"];
    text += "- " + f["name"].get<std::string>();
    if (f.contains("description") && f["description"].is_string())
      text += ": " + f["description"].get<std::string>();
    text += "\n  parameters: " + dump(parameters_of(t)) + "\n";
  }
  text +=
      "To call one, reply with only:\n"
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGUMENTS\n`"
      "``"
      "<｜tool▁call▁end｜><｜tool▁calls▁end｜>\n";
  text += parallel_tool_calls
              ? "For several calls, repeat the <｜tool▁call▁begin｜>...<｜tool▁call▁end｜> part.\n"
              : "Call at most one function.\n";
  return text;
}

Json with_system_text(const Json& messages, const std::string& text) {
  Json out = messages;
  if (!out.empty() && out[0]["role"] == "system" && out[0]["content"].is_string()) {
    const std::string content = out[0]["content"].get<std::string>();
    out[0]["content"] = content.empty() ? text : content + "\n\n" + text;
  } else {
    out.insert(out.begin(), Json{{"role", "system"}, {"content", text}});
  }
  return out;
}

}  // namespace fathom::server::protocol
