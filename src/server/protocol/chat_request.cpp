#include "server/protocol/chat_request.h"

namespace fathom::server::protocol {
namespace {

// Content: a string, or a list of parts of which only {"type": "text", "text": ...} is served.
Result<Json> normalize_content(const Json& content, const std::string& where) {
  if (content.is_string()) return content;
  if (content.is_array()) {
    std::string text;
    for (size_t k = 0; k < content.size(); ++k) {
      const Json& part = content[k];
      const std::string at = where + "[" + std::to_string(k) + "]";
      if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
        return invalid_argument(at + " must be an object with a type");
      if (part["type"] != "text")
        return invalid_argument(at + ": content parts of type " + dump(part["type"]) + " are not supported (text only)");
      if (!part.contains("text") || !part["text"].is_string()) return invalid_argument(at + ".text must be a string");
      text += part["text"].get<std::string>();
    }
    return Json(text);
  }
  return invalid_argument(where + " must be a string or a list of content parts");
}

Status validate_tool_calls(const Json& calls, const std::string& where) {
  if (!calls.is_array()) return invalid_argument(where + " must be a list");
  for (size_t k = 0; k < calls.size(); ++k) {
    const Json& c = calls[k];
    const std::string at = where + "[" + std::to_string(k) + "]";
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object())
      return invalid_argument(at + " must be an object with a function");
    const Json& f = c["function"];
    if (!f.contains("name") || !f["name"].is_string()) return invalid_argument(at + ".function.name must be a string");
    if (!f.contains("arguments") || !f["arguments"].is_string())
      return invalid_argument(at + ".function.arguments must be a string (JSON text)");
  }
  return ok_status();
}

Result<Json> parse_messages(const Json& body) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) return invalid_argument("messages is required");
  if (!it->is_array()) return invalid_argument("messages must be a list of messages");
  if (it->empty()) return invalid_argument("messages must not be empty");
  Json out = Json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return invalid_argument(at + " must be an object");
    if (!m.contains("role") || !m["role"].is_string()) return invalid_argument(at + ".role must be a string");
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      return invalid_argument(at + ".role must be one of system, developer, user, assistant, tool; got \"" + role + "\"");
    Json msg = m;
    msg["role"] = role;
    const bool has_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
    if (has_calls) {
      if (role != "assistant") return invalid_argument(at + ".tool_calls is only allowed on assistant messages");
      FATHOM_RETURN_IF_ERROR(validate_tool_calls(m["tool_calls"], at + ".tool_calls"));
      for (Json& c : msg["tool_calls"])
        if (!c.contains("type")) c["type"] = "function";
    }
    if (!m.contains("content") || m["content"].is_null()) {
      if (!(role == "assistant" && has_calls)) return invalid_argument(at + ".content is required");
      msg["content"] = nullptr;
    } else {
      FATHOM_ASSIGN_OR_RETURN(msg["content"], normalize_content(m["content"], at + ".content"));
    }
    if (role == "tool" && m.contains("tool_call_id") && !m["tool_call_id"].is_string())
      return invalid_argument(at + ".tool_call_id must be a string");
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace

Status parse_tools(const Json& body, ChatRequest& r) {
  auto it = body.find("tools");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_array()) return invalid_argument("tools must be a list of tools");
    for (size_t k = 0; k < it->size(); ++k) {
      const Json& t = (*it)[k];
      const std::string at = "tools[" + std::to_string(k) + "]";
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object())
        return invalid_argument(at + " must be {\"type\": \"function\", \"function\": {...}}");
      const Json& f = t["function"];
      if (!f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty())
        return invalid_argument(at + ".function.name must be a non-empty string");
      if (f.contains("parameters") && !f["parameters"].is_null() && !f["parameters"].is_object())
        return invalid_argument(at + ".function.parameters must be a JSON schema object");
      if (f.contains("description") && !f["description"].is_null() && !f["description"].is_string())
        return invalid_argument(at + ".function.description must be a string");
    }
    if (!it->empty()) r.tools = *it;
  }
  auto tc = body.find("tool_choice");
  if (tc == body.end() || tc->is_null()) {
    r.tool_choice = r.tools.is_null() ? "none" : "auto";
    return ok_status();
  }
  if (tc->is_string()) {
    const std::string c = tc->get<std::string>();
    if (c != "none" && c != "auto" && c != "required")
      return invalid_argument("tool_choice must be \"none\", \"auto\", \"required\" or a named function");
    r.tool_choice = c;
  } else if (tc->is_object() && tc->contains("function") && (*tc)["function"].is_object() &&
             (*tc)["function"].contains("name") && (*tc)["function"]["name"].is_string()) {
    r.tool_choice = "function";
    r.tool_choice_name = (*tc)["function"]["name"].get<std::string>();
  } else {
    return invalid_argument("tool_choice must be \"none\", \"auto\", \"required\" or a named function");
  }
  if (r.tool_choice != "none" && r.tools.is_null())
    return invalid_argument("tool_choice \"" + r.tool_choice + "\" needs tools");
  if (r.tool_choice == "function") {
    bool found = false;
    for (const Json& t : r.tools) found = found || t["function"]["name"] == r.tool_choice_name;
    if (!found) return invalid_argument("tool_choice names the function \"" + r.tool_choice_name + "\" that is not in tools");
  }
  return ok_status();
}

Result<ChatRequest> parse_chat_request(std::string_view body) {
  FATHOM_ASSIGN_OR_RETURN(Json j, parse_json_object(body));
  ChatRequest r;
  FATHOM_ASSIGN_OR_RETURN(auto model, get_string(j, "model"));
  r.model = model.value_or("");
  FATHOM_ASSIGN_OR_RETURN(r.messages, parse_messages(j));
  FATHOM_RETURN_IF_ERROR(parse_tools(j, r));
  FATHOM_ASSIGN_OR_RETURN(auto parallel, get_bool(j, "parallel_tool_calls"));
  r.parallel_tool_calls = parallel.value_or(true);
  FATHOM_ASSIGN_OR_RETURN(auto add_gen, get_bool(j, "add_generation_prompt"));
  r.add_generation_prompt = add_gen.value_or(true);
  auto kw = j.find("chat_template_kwargs");
  if (kw != j.end() && !kw->is_null()) {
    if (!kw->is_object()) return invalid_argument("chat_template_kwargs must be an object");
    r.chat_template_kwargs = *kw;
  }
  FATHOM_ASSIGN_OR_RETURN(r.options, parse_generation_options(j, Api::kChat));
  return r;
}

}  // namespace fathom::server::protocol
