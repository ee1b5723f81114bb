#include "tokenizer/json_tool_calls.h"

#include <nlohmann/json.hpp>

namespace fathom::tokenizer {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// The text of a JSON string's body (between the quotes), escapes decoded.
std::string decode_string(const std::string& raw) {
  const auto j = nlohmann::json::parse("\"" + raw + "\"", nullptr, /*allow_exceptions=*/false);
  return j.is_string() ? j.get<std::string>() : raw;
}

}  // namespace

JsonToolCallStream::JsonToolCallStream(bool named, std::string name, std::string id_prefix)
    : named_(named), id_prefix_(std::move(id_prefix)), name_(std::move(name)) {}

JsonToolCallStream JsonToolCallStream::named(std::string name, std::string id_prefix) {
  return JsonToolCallStream(true, std::move(name), std::move(id_prefix));
}

JsonToolCallStream JsonToolCallStream::list(std::string id_prefix) {
  return JsonToolCallStream(false, "", std::move(id_prefix));
}

void JsonToolCallStream::start_call(std::string name, std::vector<ToolCallDelta>& out) {
  start_tool_call(calls_, id_prefix_, std::move(name), out);
  if (!pending_args_.empty()) {
    const std::string pending = std::move(pending_args_);
    pending_args_.clear();
    add_args(pending, out);
  }
}

void JsonToolCallStream::add_args(std::string_view piece, std::vector<ToolCallDelta>& out) {
  if (name_.empty() || calls_.empty()) {  // the name is still to come
    pending_args_.append(piece);
    return;
  }
  append_tool_call_arguments(calls_, piece, out);
}

std::vector<ToolCallDelta> JsonToolCallStream::feed(std::string_view text) {
  std::vector<ToolCallDelta> out;
  if (named_) {
    if (calls_.empty()) start_call(name_, out);
    add_args(text, out);
    return out;
  }
  for (char c : text) {
    if (broken_) break;
    on_value_byte(c, out);
  }
  return out;
}

// One byte of the list form. Depth 1 is the list, depth 2 an object in it.
void JsonToolCallStream::on_value_byte(char c, std::vector<ToolCallDelta>& out) {
  if (in_params_) {
    // The parameters value ends at the object-level ',' or '}' that follows it.
    const bool ends = !in_string_ && depth_ == params_depth_ && (c == ',' || c == '}');
    if (!ends) {
      if (in_string_) {
        if (escaped_)
          escaped_ = false;
        else if (c == '\\')
          escaped_ = true;
        else if (c == '"')
          in_string_ = false;
      } else if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        --depth_;
      }
      const char piece[1] = {c};
      add_args(std::string_view(piece, 1), out);
      return;
    }
    in_params_ = false;
  }
  if (in_string_) {
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      in_string_ = false;
      if (expect_key_) {
        key_ = decode_string(string_);
      } else if (key_ == "name" && calls_.size() == num_objects_started_ - 1) {
        name_ = decode_string(string_);
        start_call(name_, out);
      }
      return;
    }
    string_ += c;
    return;
  }
  if (is_space(c)) return;
  if (awaiting_params_) {  // the first byte of the parameters value
    awaiting_params_ = false;
    in_params_ = true;
    params_depth_ = depth_;
    on_value_byte(c, out);
    return;
  }
  switch (c) {
    case '"':
      if (depth_ != 2) {
        broken_ = true;
        return;
      }
      in_string_ = true;
      string_.clear();
      return;
    case '[':
    case '{':
      ++depth_;
      if (c == '{' && depth_ == 2) {
        ++num_objects_started_;
        expect_key_ = true;
        key_.clear();
        name_.clear();
        pending_args_.clear();
      }
      return;
    case '}':
    case ']':
      --depth_;
      return;
    case ':':
      expect_key_ = false;
      awaiting_params_ = depth_ == 2 && key_ == "parameters";
      return;
    case ',':
      if (depth_ == 2) expect_key_ = true;
      return;
    default:
      return;  // a scalar value of another key
  }
}

}  // namespace fathom::tokenizer
