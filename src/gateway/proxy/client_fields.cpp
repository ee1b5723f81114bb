#include "gateway/proxy/client_fields.h"

#include "json/json_fields.h"

namespace fathom::gateway {

Result<ClientFields> read_client_fields(const nlohmann::json& body) {
  ClientFields f;
  FATHOM_ASSIGN_OR_RETURN(auto model, json::get_string(body, "model"));
  if (!model) return invalid_argument("model is required and must be a string");
  f.model = std::move(*model);
  FATHOM_ASSIGN_OR_RETURN(auto stream, json::get_bool(body, "stream"));
  f.stream = stream.value_or(false);
  FATHOM_ASSIGN_OR_RETURN(const nlohmann::json* options, json::get_object(body, "stream_options"));
  if (options) {
    if (!f.stream) return invalid_argument("stream_options is only allowed when stream is true");
    auto usage = json::get_bool(*options, "include_usage");
    if (!usage.ok()) return invalid_argument("stream_options." + usage.status().message());
    f.include_usage = usage->value_or(false);
  }
  for (const char* name : {"max_tokens", "max_completion_tokens", "max_output_tokens"}) {
    FATHOM_ASSIGN_OR_RETURN(auto n, json::get_integer(body, name));
    if (!n) continue;
    if (*n < 1) return invalid_argument(std::string(name) + " must be at least 1, got " + std::to_string(*n));
    f.max_tokens = *n;
  }
  return f;
}

}  // namespace fathom::gateway
