#include "gateway/policy/output_filter.h"

#include "json/json_fields.h"

namespace fathom::gateway::policy {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kChat = "/v1/chat/completions";
constexpr std::string_view kResponses = "/v1/responses";
constexpr const char* kContentFilter = "content_filter";

const Json* member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// `fn` on each string of a chat message or delta that is answer text: content, reasoning
// (both names servers use), refusal, tool-call and function-call arguments.
template <class F>
void each_message_text(const Json* m, F&& fn) {
  if (!m || !m->is_object()) return;
  for (const char* key : {"content", "reasoning_content", "reasoning", "refusal"})
    if (const Json* v = member(*m, key); v && v->is_string()) fn(key, *v);
  if (const Json* calls = member(*m, "tool_calls"); calls && calls->is_array())
    for (size_t i = 0; i < calls->size(); ++i) {
      const Json* fn_obj = member((*calls)[i], "function");
      const Json* index = member((*calls)[i], "index");  // streams number their calls
      const std::string channel =
          "tool" + (index && index->is_number_integer() ? index->dump() : std::to_string(i));
      if (const Json* args = fn_obj ? member(*fn_obj, "arguments") : nullptr;
          args && args->is_string())
        fn(channel, *args);
    }
  if (const Json* call = member(*m, "function_call"))
    if (const Json* args = member(*call, "arguments"); args && args->is_string())
      fn("function_call", *args);
}

// Every `text` and `arguments` string under a Responses output.
template <class F>
void each_output_text(const Json& j, F&& fn) {
  if (j.is_array()) {
    for (const Json& x : j) each_output_text(x, fn);
  } else if (j.is_object()) {
    for (const auto& [key, v] : j.items()) {
      if (v.is_string() && (key == "text" || key == "arguments" || key == "refusal")) fn(v);
      if (v.is_structured()) each_output_text(v, fn);
    }
  }
}

bool filter_choices(const Policy& p, bool chat, Json& response) {
  const auto choices = response.find("choices");
  if (choices == response.end() || !choices->is_array()) return false;
  bool changed = false;
  for (Json& c : *choices) {
    if (!c.is_object()) continue;
    bool blocked = false;
    const auto check = [&](const auto&, const Json& text) {
      blocked = blocked || p.blocks(text.get_ref<const std::string&>(), /*output=*/true);
    };
    if (chat)
      each_message_text(member(c, "message"), check);
    else if (const Json* text = member(c, "text"); text && text->is_string())
      check("text", *text);
    if (!blocked) continue;
    if (chat)
      c["message"] = {{"role", "assistant"}, {"content", p.refusal()}};
    else
      c["text"] = p.refusal();
    c["finish_reason"] = kContentFilter;
    c["logprobs"] = nullptr;
    changed = true;
  }
  return changed;
}

bool filter_responses_output(const Policy& p, Json& response) {
  const auto output = response.find("output");
  if (output == response.end()) return false;
  bool blocked = false;
  each_output_text(*output, [&](const Json& text) {
    blocked = blocked || p.blocks(text.get_ref<const std::string&>(), /*output=*/true);
  });
  if (!blocked) return false;
  *output =
      Json::array({{{"type", "message"},
                    {"role", "assistant"},
                    {"status", "completed"},
                    {"content", Json::array({{{"type", "refusal"}, {"refusal", p.refusal()}}})}}});
  response["status"] = "incomplete";
  response["incomplete_details"] = {{"reason", kContentFilter}};
  if (response.contains("output_text")) response["output_text"] = "";
  return true;
}

}  // namespace

bool filter_response(const Policy& p, std::string_view route, Json& response) {
  if (!p.filters_output() || !response.is_object()) return false;
  if (route == kResponses) return filter_responses_output(p, response);
  return filter_choices(p, route == kChat, response);
}

std::string filter_response_body(const Policy& p, std::string_view route, std::string body) {
  if (!p.filters_output()) return body;
  Json j = Json::parse(body, nullptr, false);
  if (!filter_response(p, route, j)) return body;
  return json::dump(j);
}

bool StreamFilter::add(const std::string& channel, const Json& piece) {
  const std::string& more = piece.get_ref<const std::string&>();
  if (more.empty()) return true;
  std::string& text = texts_[channel];
  const size_t checked = text.size();
  text += more;
  return !p_.blocks(text, /*output=*/true, checked);
}

bool StreamFilter::pass(const Json& event) {
  if (!event.is_object()) return true;
  bool ok = true;
  if (route_ == kResponses) {
    if (const Json* seq = member(event, "sequence_number"); seq && seq->is_number_integer())
      sequence_ = seq->get<int64_t>();
    if (const Json* r = member(event, "response"); r && r->is_object()) last_ = *r;
    const Json* type = member(event, "type");
    const Json* delta = member(event, "delta");
    if (type && type->is_string() && delta && delta->is_string()) {
      const Json* item = member(event, "output_index");
      const Json* part = member(event, "content_index");
      ok = add(
          type->get<std::string>() + (item ? item->dump() : "") + ":" + (part ? part->dump() : ""),
          *delta);
    }
    return ok;
  }
  const Json* choices = member(event, "choices");
  if (!choices || !choices->is_array()) return true;
  last_ = Json::object();
  for (const char* key : {"id", "object", "created", "model", "system_fingerprint"})
    if (const Json* v = member(event, key)) last_[key] = *v;
  const bool chat = route_ == kChat;
  for (size_t i = 0; i < choices->size() && ok; ++i) {
    const Json& c = (*choices)[i];
    const Json* index = member(c, "index");
    const int64_t idx =
        index && index->is_number_integer() ? index->get<int64_t>() : static_cast<int64_t>(i);
    choices_.insert(idx);
    const auto check = [&](const std::string& field, const Json& piece) {
      ok = ok && add(std::to_string(idx) + "/" + field, piece);
    };
    if (chat)
      each_message_text(member(c, "delta"), check);
    else if (const Json* text = member(c, "text"); text && text->is_string())
      check("text", *text);
  }
  return ok;
}

std::string StreamFilter::final_event() const {
  if (route_ == kResponses) {
    Json response = last_.is_object() ? last_ : Json::object();
    response["status"] = "incomplete";
    response["incomplete_details"] = {{"reason", kContentFilter}};
    response["output"] = Json::array();
    return json::dump(Json{{"type", "response.incomplete"},
                           {"sequence_number", sequence_ + 1},
                           {"response", response}});
  }
  Json chunk = last_.is_object() ? last_ : Json::object();
  Json choices = Json::array();
  const bool chat = route_ == kChat;
  for (int64_t idx : choices_.empty() ? std::set<int64_t>{0} : choices_) {
    Json c = {{"index", idx}, {"finish_reason", kContentFilter}, {"logprobs", nullptr}};
    if (chat)
      c["delta"] = Json::object();
    else
      c["text"] = "";
    choices.push_back(std::move(c));
  }
  chunk["choices"] = std::move(choices);
  return json::dump(chunk);
}

}  // namespace fathom::gateway::policy
