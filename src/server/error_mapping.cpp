#include "server/error_mapping.h"

#include <array>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace fathom::server {
namespace {

struct HttpErrorRow {
  Code code;
  int http_status;
  const char* type;
};

constexpr std::array<HttpErrorRow, 10> kHttpErrors = {{
    {Code::kInvalidArgument, 400, "invalid_request_error"},
    {Code::kNotFound, 404, "not_found_error"},
    {Code::kUnauthenticated, 401, "authentication_error"},
    {Code::kPermissionDenied, 403, "permission_error"},
    {Code::kResourceExhausted, 429, "rate_limit_exceeded"},  // waiting queue full
    {Code::kUnavailable, 503, "server_error"},               // loading, draining
    {Code::kDeadlineExceeded, 504, "server_error"},
    {Code::kUnimplemented, 501, "server_error"},
    {Code::kDataLoss, 500, "server_error"},
    {Code::kInternal, 500, "server_error"},
}};

const char* type_for_http(int http_status) {
  switch (http_status) {
    case 400: case 404: case 405: case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 429: return "rate_limit_exceeded";
    default: return "server_error";
  }
}

// Request fields of the chat, completions, tokenize and detokenize APIs.
const std::set<std::string>& known_params() {
  static const std::set<std::string> kParams = {
      "model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature", "top_p",
      "top_k", "min_p", "seed", "stop", "stop_token_ids", "presence_penalty", "frequency_penalty",
      "repetition_penalty", "logit_bias", "logprobs", "top_logprobs", "n", "stream",
      "stream_options", "tools", "tool_choice", "echo", "suffix", "best_of", "user", "tokens",
      "ignore_eos", "skip_special_tokens", "include_stop_str_in_output", "add_special_tokens",
      "chat_template_kwargs", "add_generation_prompt", "response_format", "parallel_tool_calls",
      "min_tokens", "continue_final_message", "reasoning_effort", "guided_json", "guided_regex",
      "guided_choice", "guided_grammar", "structured_outputs",
      // the Responses API's own
      "input", "instructions", "max_output_tokens", "text", "previous_response_id", "conversation",
      "background", "store", "metadata", "truncation", "include",
      // the runtime LoRA routes
      "lora_name", "lora_path"};
  return kParams;
}

}  // namespace

HttpError http_error_for(Code code) {
  for (const HttpErrorRow& row : kHttpErrors)
    if (row.code == code) return {row.http_status, row.type};
  return {500, "server_error"};
}

std::string param_from_message(const std::string& message) {
  size_t end = 0;
  while (end < message.size() && (std::islower(static_cast<unsigned char>(message[end])) || message[end] == '_'))
    ++end;
  if (end == 0 || end == message.size()) return "";
  const char next = message[end];
  if (next != ' ' && next != ':' && next != '[' && next != '.') return "";
  std::string word = message.substr(0, end);
  return known_params().count(word) ? word : "";
}

std::string error_json(int http_status, const char* type, const std::string& message, const std::string& param) {
  nlohmann::json err = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) err["param"] = param;
  if (http_status == 429) err["code"] = "rate_limit_exceeded";
  if (http_status == 404 && message.starts_with("The model `")) err["code"] = "model_not_found";
  return nlohmann::json({{"error", err}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

net::HttpResponse error_response(const Status& status) {
  const HttpError e = http_error_for(status.code());
  net::HttpResponse r;
  r.status = e.http_status;
  r.body = error_json(e.http_status, e.type, status.message(),
                      status.code() == Code::kInvalidArgument ? param_from_message(status.message()) : "");
  if (e.http_status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (e.http_status == 429 || e.http_status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

net::HttpResponse http_error_response(int http_status, const std::string& message) {
  net::HttpResponse r;
  r.status = http_status;
  r.body = error_json(http_status, type_for_http(http_status), message, "");
  return r;
}

}  // namespace fathom::server
