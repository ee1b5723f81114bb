#include "server/protocol/completion_request.h"

#include <limits>

namespace fathom::server::protocol {

Result<std::vector<int32_t>> parse_token_ids(const Json& value, const std::string& name) {
  if (!value.is_array()) return invalid_argument(name + " must be a list of token ids");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const Json& v : value) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > std::numeric_limits<int32_t>::max())
      return invalid_argument(name + " must be a list of non-negative integer token ids, got " + dump(v));
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

Result<CompletionRequest> parse_completion_request(std::string_view body) {
  FATHOM_ASSIGN_OR_RETURN(Json j, parse_json_object(body));
  CompletionRequest r;
  FATHOM_ASSIGN_OR_RETURN(auto model, get_string(j, "model"));
  r.model = model.value_or("");
  auto it = j.find("prompt");
  if (it == j.end() || it->is_null()) return invalid_argument("prompt is required");
  const Json& p = *it;
  if (p.is_string()) {
    r.prompts.push_back({false, p.get<std::string>(), {}});
  } else if (p.is_array() && !p.empty() && p[0].is_number()) {
    PromptInput in;
    in.is_ids = true;
    FATHOM_ASSIGN_OR_RETURN(in.ids, parse_token_ids(p, "prompt"));
    r.prompts.push_back(std::move(in));
  } else if (p.is_array() && !p.empty()) {
    if (p.size() > kMaxPrompts) return invalid_argument("prompt may hold at most " + std::to_string(kMaxPrompts) + " prompts");
    for (size_t k = 0; k < p.size(); ++k) {
      if (p[k].is_string()) {
        r.prompts.push_back({false, p[k].get<std::string>(), {}});
      } else {
        PromptInput in;
        in.is_ids = true;
        FATHOM_ASSIGN_OR_RETURN(in.ids, parse_token_ids(p[k], "prompt[" + std::to_string(k) + "]"));
        r.prompts.push_back(std::move(in));
      }
    }
  } else {
    return invalid_argument("prompt must be a string, a list of token ids, or a non-empty list of either");
  }
  for (const PromptInput& in : r.prompts)
    if ((in.is_ids && in.ids.empty()) || (!in.is_ids && in.text.empty()))
      return invalid_argument("prompt must not be empty");
  FATHOM_ASSIGN_OR_RETURN(auto echo, get_bool(j, "echo"));
  r.echo = echo.value_or(false);
  FATHOM_ASSIGN_OR_RETURN(auto suffix, get_string(j, "suffix"));
  if (suffix && !suffix->empty()) return invalid_argument("suffix is not supported");
  FATHOM_ASSIGN_OR_RETURN(r.options, parse_generation_options(j, Api::kCompletions));
  return r;
}

}  // namespace fathom::server::protocol
