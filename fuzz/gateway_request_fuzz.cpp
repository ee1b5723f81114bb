// libFuzzer target: a client's request body as the gateway reads it (parse, a tenant policy's
// rewrite and refusals, the fields it uses, the error answer), and the same bytes as an
// upstream's answer under the policy's content rules (whole, and as stream events). Any
// exception or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/policy/output_filter.h"
#include "gateway/policy/request_policy.h"
#include "gateway/proxy/client_fields.h"
#include "gateway/proxy/errors.h"
#include "json/json_fields.h"

namespace {

// One policy with every field set: enforce a system prompt, cap and bound, block a term and a
// pattern on input and output.
fathom::gateway::policy::PoliciesConfig make_policies() {
  using namespace fathom::gateway;
  policy::PolicySpec s;
  s.default_model = "m";
  s.default_model_aliases = {"default"};
  s.allowed_models = std::vector<std::string>{"m*"};
  s.denied_models = {"*-x"};
  s.system_prompt = policy::SystemPrompt{"sys", policy::SystemPromptMode::kEnforce};
  s.max_output_tokens = 16;
  s.temperature = policy::Bounds{0.0, 0.5};
  s.top_p = policy::Bounds{0.1, 0.9};
  s.content.add_term("blocked");
  s.content.patterns.patterns = {*classify::compile_pattern("(a+)+b")};
  policy::PoliciesConfig c;
  c.tenants["t"] = s;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  using namespace fathom::gateway;
  static const policy::PoliciesConfig policies = make_policies();
  static const policy::Policy pol = policy::Policy::resolve(policies, "t", "k");
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto j = json::parse_json_object<nlohmann::json>(body);
  if (!j.ok()) return 0;
  constexpr const char* kRoutes[] = {"/v1/chat/completions", "/v1/completions", "/v1/responses"};
  for (const char* route : kRoutes) {
    nlohmann::json answer = *j;
    (void)policy::filter_response(pol, route, answer);
    policy::StreamFilter stream(pol, route);
    if (!stream.pass(*j)) (void)stream.final_event();
  }
  nlohmann::json req = *j;
  if (auto refused = policy::apply_request_policy(pol, kRoutes[size % 3], req)) {
    (void)error_response(refused->http_status, refused->type, refused->message, refused->code,
                         refused->param);
    return 0;
  }
  auto fields = gateway::read_client_fields(req);
  if (!fields.ok()) {
    (void)gateway::field_error_response(fields.status());
    return 0;
  }
  (void)policy::check_model(pol, fields->model, fields->model);
  (void)json::dump(req);
  return 0;
}
