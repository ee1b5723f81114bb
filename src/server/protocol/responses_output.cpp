#include "server/protocol/responses_output.h"

namespace fathom::server::protocol {

ResponsesOutput::ResponsesOutput(std::string id, std::string model, int64_t created_at, Json echo)
    : id_(std::move(id)),
      model_(std::move(model)),
      created_at_(created_at),
      echo_(std::move(echo)) {}

void ResponsesOutput::emit(std::vector<ResponsesEvent>& out, const std::string& type, Json fields) {
  Json data = {{"type", type}, {"sequence_number", sequence_++}};
  for (auto& [k, v] : fields.items()) data[k] = std::move(v);
  out.push_back({type, std::move(data)});
}

std::vector<ResponsesEvent> ResponsesOutput::start() {
  std::vector<ResponsesEvent> out;
  emit(out, "response.created", {{"response", response()}});
  emit(out, "response.in_progress", {{"response", response()}});
  return out;
}

void ResponsesOutput::open(Kind kind, std::vector<ResponsesEvent>& out,
                           const tokenizer::ToolCallDelta* call) {
  close(out);
  open_ = kind;
  text_.clear();
  const std::string n =
      id_.substr(id_.find_first_of("-_") + 1) + "_" + std::to_string(num_items_++);
  const int64_t index = static_cast<int64_t>(items_.size());
  switch (kind) {
    case Kind::kReasoning:
      open_item_ = {{"id", "rs_" + n},
                    {"type", "reasoning"},
                    {"summary", Json::array()},
                    {"status", "in_progress"}};
      break;
    case Kind::kMessage:
      open_item_ = {{"id", "msg_" + n},
                    {"type", "message"},
                    {"status", "in_progress"},
                    {"role", "assistant"},
                    {"content", Json::array()}};
      break;
    case Kind::kFunctionCall:
      tool_index_ = call->index;
      open_item_ = {{"id", "fc_" + n},     {"type", "function_call"}, {"status", "in_progress"},
                    {"call_id", call->id}, {"name", call->name},      {"arguments", ""}};
      break;
    case Kind::kNone:
      return;
  }
  emit(out, "response.output_item.added", {{"output_index", index}, {"item", open_item_}});
  if (kind == Kind::kMessage) {
    emit(out, "response.content_part.added",
         {{"item_id", open_item_["id"]},
          {"output_index", index},
          {"content_index", 0},
          {"part",
           {{"type", "output_text"},
            {"text", ""},
            {"annotations", Json::array()},
            {"logprobs", Json::array()}}}});
  }
}

void ResponsesOutput::close(std::vector<ResponsesEvent>& out) {
  if (open_ == Kind::kNone) return;
  const int64_t index = static_cast<int64_t>(items_.size());
  const Json item_id = open_item_["id"];
  switch (open_) {
    case Kind::kReasoning:
      emit(out, "response.reasoning_text.done",
           {{"item_id", item_id}, {"output_index", index}, {"content_index", 0}, {"text", text_}});
      open_item_["content"] = Json::array({{{"type", "reasoning_text"}, {"text", text_}}});
      break;
    case Kind::kMessage: {
      const Json part = {{"type", "output_text"},
                         {"text", text_},
                         {"annotations", Json::array()},
                         {"logprobs", Json::array()}};
      emit(out, "response.output_text.done",
           {{"item_id", item_id},
            {"output_index", index},
            {"content_index", 0},
            {"text", text_},
            {"logprobs", Json::array()}});
      emit(out, "response.content_part.done",
           {{"item_id", item_id}, {"output_index", index}, {"content_index", 0}, {"part", part}});
      open_item_["content"] = Json::array({part});
      break;
    }
    case Kind::kFunctionCall:
      emit(out, "response.function_call_arguments.done",
           {{"item_id", item_id},
            {"output_index", index},
            {"name", open_item_["name"]},
            {"arguments", text_}});
      open_item_["arguments"] = text_;
      break;
    case Kind::kNone:
      break;
  }
  // An answer cut by max_output_tokens leaves its last item incomplete.
  open_item_["status"] = status_ == "incomplete" ? "incomplete" : "completed";
  emit(out, "response.output_item.done", {{"output_index", index}, {"item", open_item_}});
  items_.push_back(std::move(open_item_));
  open_item_ = Json();
  open_ = Kind::kNone;
  tool_index_ = -1;
}

std::vector<ResponsesEvent> ResponsesOutput::add(
    const std::string& reasoning, const std::string& content,
    const std::vector<tokenizer::ToolCallDelta>& tool_calls) {
  std::vector<ResponsesEvent> out;
  if (!reasoning.empty()) {
    if (open_ != Kind::kReasoning) open(Kind::kReasoning, out);
    text_ += reasoning;
    emit(out, "response.reasoning_text.delta",
         {{"item_id", open_item_["id"]},
          {"output_index", static_cast<int64_t>(items_.size())},
          {"content_index", 0},
          {"delta", reasoning}});
  }
  if (!content.empty()) {
    if (open_ != Kind::kMessage) open(Kind::kMessage, out);
    text_ += content;
    emit(out, "response.output_text.delta",
         {{"item_id", open_item_["id"]},
          {"output_index", static_cast<int64_t>(items_.size())},
          {"content_index", 0},
          {"delta", content},
          {"logprobs", Json::array()}});
  }
  for (const tokenizer::ToolCallDelta& d : tool_calls) {
    if (!d.id.empty()) open(Kind::kFunctionCall, out, &d);
    if (open_ != Kind::kFunctionCall || d.index != tool_index_ || d.arguments.empty()) continue;
    text_ += d.arguments;
    emit(out, "response.function_call_arguments.delta",
         {{"item_id", open_item_["id"]},
          {"output_index", static_cast<int64_t>(items_.size())},
          {"delta", d.arguments}});
  }
  return out;
}

std::vector<ResponsesEvent> ResponsesOutput::finish(const std::string& finish_reason,
                                                    const Usage& usage) {
  std::vector<ResponsesEvent> out;
  if (finish_reason == "length") {
    status_ = "incomplete";
    incomplete_details_ = {{"reason", "max_output_tokens"}};
  } else {
    status_ = "completed";
  }
  close(out);
  usage_ = {{"input_tokens", usage.prompt_tokens},
            {"input_tokens_details", {{"cached_tokens", usage.cached_tokens}, {"cache_write_tokens", 0}}},
            {"output_tokens", usage.completion_tokens},
            {"output_tokens_details", {{"reasoning_tokens", 0}}},
            {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  emit(out, status_ == "completed" ? "response.completed" : "response.incomplete",
       {{"response", response()}});
  return out;
}

std::vector<ResponsesEvent> ResponsesOutput::fail(const std::string& code,
                                                  const std::string& message) {
  std::vector<ResponsesEvent> out;
  emit(out, "error", {{"code", code}, {"message", message}, {"param", nullptr}});
  status_ = "failed";
  error_ = {{"code", code}, {"message", message}};
  emit(out, "response.failed", {{"response", response()}});
  return out;
}

Json ResponsesOutput::response() const {
  Json r = {{"id", id_},
            {"object", "response"},
            {"created_at", created_at_},
            {"status", status_},
            {"background", false},
            {"error", error_},
            {"incomplete_details", incomplete_details_},
            {"instructions", echo_.value("instructions", Json())},
            {"max_output_tokens", echo_.value("max_output_tokens", Json())},
            {"model", model_},
            {"output", items_},
            {"parallel_tool_calls", echo_.value("parallel_tool_calls", true)},
            {"previous_response_id", nullptr},
            {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}},
            {"service_tier", "default"},
            {"store", false},
            {"temperature", echo_.value("temperature", Json(1.0))},
            {"text", echo_.value("text", Json{{"format", {{"type", "text"}}}})},
            {"tool_choice", echo_.value("tool_choice", Json("auto"))},
            {"tools", echo_.value("tools", Json::array())},
            {"top_p", echo_.value("top_p", Json(1.0))},
            {"truncation", echo_.value("truncation", Json("disabled"))},
            {"usage", usage_},
            {"user", echo_.value("user", Json())},
            {"metadata", echo_.value("metadata", Json::object())}};
  return r;
}

}  // namespace fathom::server::protocol
