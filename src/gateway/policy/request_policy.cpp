#include "gateway/policy/request_policy.h"

#include <algorithm>
#include <sstream>

#include "gateway/classify/classifier.h"

namespace fathom::gateway::policy {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kChat = "/v1/chat/completions";
constexpr std::string_view kResponses = "/v1/responses";

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

Refusal bad_request(std::string param, std::string message, std::string code = "") {
  return Refusal{.http_status = 400,
                 .type = "invalid_request_error",
                 .code = std::move(code),
                 .param = std::move(param),
                 .message = std::move(message)};
}

void apply_default_model(const Policy& p, Json& body) {
  const std::optional<std::string>& model = p.default_model();
  if (!model) return;
  const auto it = body.find("model");
  if (it == body.end() || it->is_null() || (it->is_string() && p.is_default_alias(*it)))
    body["model"] = *model;
}

std::optional<Refusal> check_input(const Policy& p, std::string_view route, const Json& body) {
  for (std::string_view text : classify::request_texts(body))
    if (p.blocks(text, /*output=*/false))
      return bad_request(
          route == kChat        ? "messages"
          : route == kResponses ? "input"
                                : "prompt",
          "The request was refused: its text breaks the content policy of " + p.owner() + ".",
          "content_policy_violation");
  return std::nullopt;
}

std::optional<Refusal> cap_output_tokens(const Policy& p, std::string_view route, Json& body) {
  const std::optional<int64_t>& cap = p.max_output_tokens();
  if (!cap) return std::nullopt;
  bool asked = false;
  for (const char* name : {"max_tokens", "max_completion_tokens", "max_output_tokens"}) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    asked = true;
    if (it->is_number_integer() && it->get<int64_t>() > *cap)
      return bad_request(name, std::string(name) + " is " + std::to_string(it->get<int64_t>()) +
                                   ", above the limit of " + std::to_string(*cap) +
                                   " output tokens set by the policy of " + p.owner());
  }
  if (!asked) body[route == kResponses ? "max_output_tokens" : "max_tokens"] = *cap;
  return std::nullopt;
}

std::optional<Refusal> bound(const Policy& p, const std::optional<Bounds>& b, const char* name,
                             Json& body) {
  if (!b) return std::nullopt;
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    constexpr double kOpenAiDefault = 1.0;  // temperature and top_p alike
    if (!b->contains(kOpenAiDefault)) body[name] = std::clamp(kOpenAiDefault, b->min, b->max);
    return std::nullopt;
  }
  if (!it->is_number()) return std::nullopt;  // the upstream names the wrong type
  const double v = it->get<double>();
  if (b->contains(v)) return std::nullopt;
  return bad_request(name, std::string(name) + " is " + number_text(v) + ", outside [" +
                               number_text(b->min) + ", " + number_text(b->max) +
                               "] set by the policy of " + p.owner());
}

bool is_system_role(const Json& item) {
  if (!item.is_object()) return false;
  const auto role = item.find("role");
  return role != item.end() && role->is_string() && (*role == "system" || *role == "developer");
}

void drop_system_items(Json& list) {
  if (!list.is_array()) return;
  Json kept = Json::array();
  for (Json& m : list)
    if (!is_system_role(m)) kept.push_back(std::move(m));
  list = std::move(kept);
}

std::optional<Refusal> add_system_prompt(const Policy& p, std::string_view route, Json& body) {
  const std::optional<SystemPrompt>& sp = p.system_prompt();
  if (!sp) return std::nullopt;
  const bool enforce = sp->mode == SystemPromptMode::kEnforce;
  if (route == kChat) {
    const auto messages = body.find("messages");
    if (messages == body.end() || !messages->is_array()) return std::nullopt;  // upstream's 400
    if (enforce) drop_system_items(*messages);
    messages->insert(messages->begin(), Json{{"role", "system"}, {"content", sp->text}});
    return std::nullopt;
  }
  if (route == kResponses) {
    Json& instructions = body["instructions"];
    if (!enforce && instructions.is_string() && !instructions.get_ref<const std::string&>().empty())
      instructions = sp->text + "\n\n" + instructions.get<std::string>();
    else
      instructions = sp->text;
    if (const auto input = body.find("input"); enforce && input != body.end())
      drop_system_items(*input);
    return std::nullopt;
  }
  // Completions: the text prompt(s) start with it; echo would show it to the client.
  if (const auto echo = body.find("echo");
      echo != body.end() && echo->is_boolean() && echo->get<bool>())
    return bad_request("echo", "echo is not available under the policy of " + p.owner() +
                                   ", which adds a system prompt to the prompt");
  const auto found = body.find("prompt");
  if (found == body.end()) return std::nullopt;  // the upstream's 400 names it
  Json& prompt = *found;
  const auto prefixed = [&](const Json& text) {
    return sp->text + "\n\n" + text.get<std::string>();
  };
  if (prompt.is_string()) {
    prompt = prefixed(prompt);
  } else if (prompt.is_array() && !prompt.empty() &&
             std::all_of(prompt.begin(), prompt.end(),
                         [](const Json& x) { return x.is_string(); })) {
    for (Json& x : prompt) x = prefixed(x);
  } else if (prompt.is_array() && !prompt.empty()) {
    return bad_request("prompt", "prompt is token ids, but the policy of " + p.owner() +
                                     " adds a system prompt, which only text prompts can take");
  }
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> apply_request_policy(const Policy& p, std::string_view route, Json& body) {
  if (p.empty() || !body.is_object()) return std::nullopt;
  apply_default_model(p, body);
  if (auto r = check_input(p, route, body)) return r;
  if (auto r = cap_output_tokens(p, route, body)) return r;
  if (auto r = bound(p, p.temperature(), "temperature", body)) return r;
  if (auto r = bound(p, p.top_p(), "top_p", body)) return r;
  return add_system_prompt(p, route, body);
}

std::optional<Refusal> check_model(const Policy& p, const std::string& client_model,
                                   const std::string& route_model) {
  if (p.allows_model({client_model, route_model})) return std::nullopt;
  return Refusal{
      .http_status = 403,
      .type = "permission_error",
      .code = "model_not_allowed",
      .param = "model",
      .message = "The model '" + client_model + "' is not allowed by the policy of " + p.owner()};
}

}  // namespace fathom::gateway::policy
