#include "server/protocol/responses_request.h"

#include "server/protocol/structured_output.h"

namespace fathom::server::protocol {
namespace {

std::string at(const std::string& field, size_t k) { return field + "[" + std::to_string(k) + "]"; }

// Content: a string, or text parts (input_text, output_text, text; refusal text too).
Result<std::string> content_text(const Json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    return invalid_argument(where + " must be a string or a list of content parts");
  std::string text;
  for (size_t k = 0; k < content.size(); ++k) {
    const Json& part = content[k];
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return invalid_argument(at(where, k) + " must be an object with a type");
    const std::string type = part["type"].get<std::string>();
    const char* key = type == "refusal" ? "refusal" : "text";
    if (type != "input_text" && type != "output_text" && type != "text" && type != "refusal")
      return invalid_argument(at(where, k) + ": content parts of type \"" + type +
                              "\" are not supported (text only)");
    if (!part.contains(key) || !part[key].is_string())
      return invalid_argument(at(where, k) + "." + key + " must be a string");
    text += part[key].get<std::string>();
  }
  return text;
}

Result<std::string> required_string(const Json& item, const char* key, const std::string& where) {
  auto it = item.find(key);
  if (it == item.end() || !it->is_string())
    return invalid_argument(where + "." + key + " is required and must be a string");
  return it->get<std::string>();
}

// One input item appended to `messages` in the chat form parse_chat_request produces.
Status add_item(const Json& item, const std::string& where, Json& messages) {
  if (!item.is_object()) return invalid_argument(where + " must be an object");
  FATHOM_ASSIGN_OR_RETURN(auto type, get_string(item, "type"));
  const std::string kind = type.value_or("message");
  if (kind == "message") {
    FATHOM_ASSIGN_OR_RETURN(std::string role, required_string(item, "role", where));
    if (role == "developer") role = "system";
    if (role != "user" && role != "assistant" && role != "system")
      return invalid_argument(
          where + ".role must be one of user, assistant, system, developer; got \"" + role + "\"");
    auto content = item.find("content");
    if (content == item.end() || content->is_null())
      return invalid_argument(where + ".content is required");
    FATHOM_ASSIGN_OR_RETURN(std::string text, content_text(*content, where + ".content"));
    messages.push_back({{"role", role}, {"content", text}});
    return ok_status();
  }
  if (kind == "function_call") {
    FATHOM_ASSIGN_OR_RETURN(std::string call_id, required_string(item, "call_id", where));
    FATHOM_ASSIGN_OR_RETURN(std::string name, required_string(item, "name", where));
    FATHOM_ASSIGN_OR_RETURN(std::string arguments, required_string(item, "arguments", where));
    Json call = {{"id", call_id},
                 {"type", "function"},
                 {"function", {{"name", name}, {"arguments", arguments}}}};
    // Consecutive calls are one assistant turn.
    if (!messages.empty() && messages.back()["role"] == "assistant" &&
        messages.back().contains("tool_calls")) {
      messages.back()["tool_calls"].push_back(std::move(call));
    } else {
      messages.push_back({{"role", "assistant"},
                          {"content", nullptr},
                          {"tool_calls", Json::array({std::move(call)})}});
    }
    return ok_status();
  }
  if (kind == "function_call_output") {
    FATHOM_ASSIGN_OR_RETURN(std::string call_id, required_string(item, "call_id", where));
    auto output = item.find("output");
    if (output == item.end() || output->is_null())
      return invalid_argument(where + ".output is required");
    FATHOM_ASSIGN_OR_RETURN(std::string text, content_text(*output, where + ".output"));
    messages.push_back({{"role", "tool"}, {"tool_call_id", call_id}, {"content", text}});
    return ok_status();
  }
  if (kind == "reasoning")
    return ok_status();  // earlier reasoning is not fed back, as chat templates drop it
  if (kind == "item_reference")
    return invalid_argument(
        where +
        ": item_reference needs stored responses, which this server does not keep; "
        "send the items themselves");
  return invalid_argument(
      where + ".type \"" + kind +
      "\" is not supported (message, function_call, function_call_output, reasoning)");
}

Result<Json> read_messages(const Json& body) {
  Json messages = Json::array();
  FATHOM_ASSIGN_OR_RETURN(auto instructions, get_string(body, "instructions"));
  if (instructions && !instructions->empty())
    messages.push_back({{"role", "system"}, {"content", *instructions}});
  auto input = body.find("input");
  if (input == body.end() || input->is_null()) return invalid_argument("input is required");
  if (input->is_string()) {
    messages.push_back({{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    if (input->empty()) return invalid_argument("input must not be empty");
    for (size_t k = 0; k < input->size(); ++k)
      FATHOM_RETURN_IF_ERROR(add_item((*input)[k], at("input", k), messages));
  } else {
    return invalid_argument("input must be a string or a list of input items");
  }
  return messages;
}

// Responses tools and tool_choice in the chat form: {"tools": [...], "tool_choice": ...}.
Result<Json> chat_tools(const Json& body) {
  Json out = Json::object();
  auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return invalid_argument("tools must be a list of tools");
    Json list = Json::array();
    for (size_t k = 0; k < tools->size(); ++k) {
      const Json& t = (*tools)[k];
      const std::string where = at("tools", k);
      if (!t.is_object()) return invalid_argument(where + " must be an object");
      FATHOM_ASSIGN_OR_RETURN(auto type, get_string(t, "type"));
      if (type.value_or("") != "function")
        return invalid_argument(
            where + ".type \"" + type.value_or("") +
            "\" is not supported (function tools only; hosted tools need OpenAI)");
      FATHOM_ASSIGN_OR_RETURN(std::string name, required_string(t, "name", where));
      Json f = {{"name", name}};
      for (const char* key : {"description", "parameters"})
        if (t.contains(key) && !t[key].is_null()) f[key] = t[key];
      list.push_back({{"type", "function"}, {"function", std::move(f)}});
    }
    out["tools"] = std::move(list);
  }
  auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    if (choice->is_string()) {
      out["tool_choice"] = *choice;
    } else if (choice->is_object() && choice->value("type", Json()) == "function" &&
               choice->contains("name") && (*choice)["name"].is_string()) {
      out["tool_choice"] = {{"type", "function"}, {"function", {{"name", (*choice)["name"]}}}};
    } else {
      return invalid_argument(
          "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", "
          "\"name\": ...}");
    }
  }
  return out;
}

// The sampling fields, in the chat form parse_generation_options reads.
Result<Json> chat_options(const Json& body) {
  Json gen = Json::object();
  for (const char* key : {"temperature", "top_p", "top_k", "min_p", "seed", "presence_penalty",
                          "frequency_penalty", "repetition_penalty", "stream"}) {
    if (body.contains(key)) gen[key] = body[key];
  }
  FATHOM_ASSIGN_OR_RETURN(auto max_output, get_integer(body, "max_output_tokens"));
  if (max_output) {
    if (*max_output < 1)
      return invalid_argument("max_output_tokens must be at least 1, got " +
                              std::to_string(*max_output));
    gen["max_tokens"] = *max_output;
  }
  FATHOM_ASSIGN_OR_RETURN(auto top, get_integer(body, "top_logprobs"));
  if (top) {
    if (*top < 0 || *top > 20)
      return invalid_argument("top_logprobs must be in [0, 20], got " + std::to_string(*top));
    gen["logprobs"] = true;
    gen["top_logprobs"] = *top;
  }
  return gen;
}

Status refuse_unsupported(const Json& body) {
  for (const char* key : {"previous_response_id", "conversation", "prompt"}) {
    auto it = body.find(key);
    if (it != body.end() && !it->is_null())
      return invalid_argument(
          std::string(key) +
          " is not supported: this server keeps no responses or conversations; send the "
          "whole conversation in input");
  }
  FATHOM_ASSIGN_OR_RETURN(auto background, get_bool(body, "background"));
  if (background.value_or(false))
    return invalid_argument("background is not supported: use stream instead");
  FATHOM_ASSIGN_OR_RETURN(auto store, get_bool(body, "store"));
  (void)store;  // accepted; nothing is stored, and the response says "store": false
  FATHOM_ASSIGN_OR_RETURN(auto user, get_string(body, "user"));
  (void)user;
  FATHOM_ASSIGN_OR_RETURN(const Json* metadata, get_object(body, "metadata"));
  (void)metadata;
  FATHOM_ASSIGN_OR_RETURN(auto truncation, get_string(body, "truncation"));
  if (truncation && *truncation != "auto" && *truncation != "disabled")
    return invalid_argument("truncation must be \"auto\" or \"disabled\", got \"" + *truncation +
                            "\"");
  auto include = body.find("include");
  if (include != body.end() && !include->is_null()) {
    if (!include->is_array()) return invalid_argument("include must be a list of strings");
    for (const Json& s : *include)
      if (!s.is_string()) return invalid_argument("include must be a list of strings");
  }
  return ok_status();
}

}  // namespace

Result<ResponsesRequest> parse_responses_request(std::string_view body_text) {
  FATHOM_ASSIGN_OR_RETURN(Json body, parse_json_object(body_text));
  ResponsesRequest out;
  ChatRequest& r = out.chat;
  FATHOM_ASSIGN_OR_RETURN(auto model, get_string(body, "model"));
  r.model = model.value_or("");
  FATHOM_RETURN_IF_ERROR(refuse_unsupported(body));
  FATHOM_ASSIGN_OR_RETURN(r.messages, read_messages(body));
  FATHOM_ASSIGN_OR_RETURN(Json tools, chat_tools(body));
  FATHOM_RETURN_IF_ERROR(parse_tools(tools, r));
  FATHOM_ASSIGN_OR_RETURN(auto parallel, get_bool(body, "parallel_tool_calls"));
  r.parallel_tool_calls = parallel.value_or(true);
  FATHOM_ASSIGN_OR_RETURN(Json gen, chat_options(body));
  FATHOM_ASSIGN_OR_RETURN(r.options, parse_generation_options(gen, Api::kChat));

  Json text = {{"format", {{"type", "text"}}}};
  FATHOM_ASSIGN_OR_RETURN(const Json* text_field, get_object(body, "text"));
  if (text_field) {
    auto format = text_field->find("format");
    if (format != text_field->end() && !format->is_null()) {
      FATHOM_ASSIGN_OR_RETURN(r.options.grammar,
                              compile_format(*format, "text.format", /*flat=*/true));
      text["format"] = *format;
    }
  }

  Json& echo = out.echo;
  echo["instructions"] = body.value("instructions", Json());
  echo["max_output_tokens"] = body.value("max_output_tokens", Json());
  echo["metadata"] =
      body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : Json::object();
  echo["parallel_tool_calls"] = r.parallel_tool_calls;
  echo["temperature"] = r.options.params.sampling.temperature;
  echo["text"] = std::move(text);
  echo["tool_choice"] = body.contains("tool_choice") && !body["tool_choice"].is_null()
                            ? body["tool_choice"]
                        : r.tools.is_null() ? Json("none")
                                            : Json("auto");
  echo["tools"] =
      body.contains("tools") && body["tools"].is_array() ? body["tools"] : Json::array();
  echo["top_p"] = r.options.params.sampling.top_p;
  echo["truncation"] = body.value("truncation", Json("disabled"));
  echo["user"] = body.value("user", Json());
  return out;
}

}  // namespace fathom::server::protocol
