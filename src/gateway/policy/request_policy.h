// A policy applied to a client's request body, in the gateway, before its fields are read and
// before routing: so quota, the response cache, the classifier and prefix affinity all see the
// body the upstream will get.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/policy/policy.h"

namespace fathom::gateway::policy {

/// Why a request was refused, as the parts of an OpenAI error.
struct Refusal {
  int http_status = 400;
  std::string type = "invalid_request_error";
  std::string code;   ///< e.g. content_policy_violation; "" = null
  std::string param;  ///< the field at fault; "" = null
  std::string message;
};

/// Applies `p` to `body` of `route` ("/v1/chat/completions", "/v1/completions",
/// "/v1/responses") in this order, editing it in place:
///  1. the default model, when `model` is absent, null or one of its aliases;
///  2. input content rules on every text classify::request_texts reads (400,
///     code content_policy_violation);
///  3. max_output_tokens: a max_tokens / max_completion_tokens / max_output_tokens above it is
///     a 400 naming the field; none of them: max_tokens (max_output_tokens) is set to it;
///  4. temperature and top_p bounds: a value outside is a 400 naming it; absent, the OpenAI
///     default (1) clamped into the bounds is set when 1 lies outside them;
///  5. the system prompt: chat messages (prepended, or the only system message when enforced),
///     a completions prompt (each text prompt starts with it; token-id prompts and `echo` are
///     a 400), the
///     Responses `instructions` (and with enforce, no system or developer input items).
/// A field of the wrong type is left alone: read_client_fields or the upstream names it.
std::optional<Refusal> apply_request_policy(const Policy& p, std::string_view route,
                                            nlohmann::json& body);

/// After routing: the policy's allowed and denied models, tried on the client's name and the
/// route's (403 permission_error, code model_not_allowed).
std::optional<Refusal> check_model(const Policy& p, const std::string& client_model,
                                   const std::string& route_model);

}  // namespace fathom::gateway::policy
