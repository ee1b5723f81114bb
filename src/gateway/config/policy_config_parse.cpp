#include "gateway/config/policy_config_parse.h"

#include <cmath>
#include <optional>

namespace fathom::gateway {
namespace {

using policy::Bounds;
using policy::PolicySpec;

// The field is given (a YAML null counts as absent, as Fields::get reads it).
bool present(const Fields& f, const char* key) {
  const YAML::Node n = f.child(key);
  return n && !n.IsNull();
}

// A list of non-empty names or globs.
std::vector<std::string> names(Fields& f, const char* key) {
  std::vector<std::string> out;
  f.get(key, out);
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].empty())
      f.problem(std::string(key) + "[" + std::to_string(i) + "]", "must not be empty");
  return out;
}

// `{min, max}` within [lo, hi]; either end may be left out (then lo or hi).
std::optional<Bounds> bounds(Fields& parent, const char* key, double lo, double hi,
                             std::vector<std::string>& problems) {
  const YAML::Node n = parent.child(key);
  if (!n || n.IsNull()) return std::nullopt;
  Fields f(n, parent.path(key), problems);
  f.reject_unknown({"min", "max"});
  Bounds b{lo, hi};
  f.get("min", b.min);
  f.get("max", b.max);
  const std::string range =
      "[" + std::to_string(lo).substr(0, 3) + ", " + std::to_string(hi).substr(0, 3) + "]";
  if (!(b.min >= lo && b.min <= hi)) f.problem("min", "must be a number in " + range);
  if (!(b.max >= lo && b.max <= hi)) f.problem("max", "must be a number in " + range);
  if (b.min > b.max) f.problem("", "min must not be above max");
  return b;
}

policy::ContentRules content_rules(Fields& parent, std::vector<std::string>& problems) {
  policy::ContentRules c;
  const YAML::Node n = parent.child("content");
  if (!n || n.IsNull()) return c;
  Fields f(n, parent.path("content"), problems);
  f.reject_unknown({"blocked_terms", "blocked_patterns", "input", "output"});
  std::vector<std::string> terms, patterns;
  f.get("blocked_terms", terms);
  f.get("blocked_patterns", patterns);
  for (size_t i = 0; i < terms.size(); ++i) {
    auto t = classify::normalize_keyword(terms[i]);
    if (t.ok())
      c.add_term(std::move(*t));
    else
      f.problem("blocked_terms[" + std::to_string(i) + "]", t.status().message());
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto p = classify::compile_pattern(patterns[i]);
    if (p.ok())
      c.patterns.patterns.push_back(std::move(*p));
    else
      f.problem("blocked_patterns[" + std::to_string(i) + "]",
                p.status().message() + " ('" + patterns[i] + "')");
  }
  f.get("input", c.input);
  f.get("output", c.output);
  if (!c.input && !c.output)
    f.problem("", "input and output are both false: the rules would never apply");
  return c;
}

PolicySpec parse_spec(const YAML::Node& n, const std::string& path,
                      const std::function<bool(const std::string&)>& is_model,
                      std::vector<std::string>& problems) {
  Fields f(n, path, problems);
  f.reject_unknown({"default_model", "default_model_aliases", "allowed_models", "denied_models",
                    "system_prompt", "max_output_tokens", "temperature", "top_p", "content",
                    "refusal"});
  PolicySpec s;
  if (present(f, "default_model")) {
    std::string model;
    const size_t before = problems.size();
    f.get("default_model", model);
    const bool typed = problems.size() == before;  // else the wrong type is recorded
    if (typed && model.empty())
      f.problem("default_model", "must be a model name");
    else if (typed && !is_model(model))
      f.problem("default_model", "no model route or alias named '" + model + "'");
    s.default_model = model;
  }
  s.default_model_aliases = names(f, "default_model_aliases");
  if (!s.default_model_aliases.empty() && !s.default_model)
    f.problem("default_model_aliases", "needs default_model (the model they stand for)");
  for (const std::string& a : s.default_model_aliases)
    if (is_model(a))
      f.problem("default_model_aliases", "'" + a + "' is already a model route or alias");
  if (present(f, "allowed_models")) s.allowed_models = names(f, "allowed_models");
  s.denied_models = names(f, "denied_models");
  if (s.default_model && !s.default_model->empty()) {
    policy::PoliciesConfig alone;
    alone.tenants[""] = s;
    if (!policy::Policy::resolve(alone, "", "").allows_model({*s.default_model}))
      f.problem("default_model", "'" + *s.default_model +
                                     "' is not allowed by this policy's own allowed_models / "
                                     "denied_models");
  }
  if (const YAML::Node sp = f.child("system_prompt"); sp && !sp.IsNull()) {
    Fields p(sp, f.path("system_prompt"), problems);
    p.reject_unknown({"text", "mode"});
    policy::SystemPrompt prompt;
    p.get("text", prompt.text);
    if (prompt.text.empty()) p.problem("text", "is required (the system prompt's text)");
    std::string mode = "prepend";
    p.get("mode", mode);
    if (mode == "enforce")
      prompt.mode = policy::SystemPromptMode::kEnforce;
    else if (mode != "prepend")
      p.problem("mode", "must be prepend or enforce (got '" + mode + "')");
    s.system_prompt = std::move(prompt);
  }
  if (present(f, "max_output_tokens")) {
    int64_t cap = 1;  // stays 1 when the type is wrong (that problem is recorded already)
    f.get("max_output_tokens", cap);
    if (cap < 1 || cap > (int64_t{1} << 31))
      f.problem("max_output_tokens", "must be an integer in 1..2147483648");
    s.max_output_tokens = cap;
  }
  s.temperature = bounds(f, "temperature", 0.0, 2.0, problems);
  s.top_p = bounds(f, "top_p", 0.0, 1.0, problems);
  s.content = content_rules(f, problems);
  if (present(f, "refusal")) {
    std::string text;
    const size_t before = problems.size();
    f.get("refusal", text);
    if (problems.size() == before && text.empty()) f.problem("refusal", "must be a non-empty text");
    s.refusal = text;
  }
  return s;
}

bool is_key_id(const std::string& s) {
  if (s.size() != 12) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

policy::PoliciesConfig parse_policies(const YAML::Node& node,
                                      const std::function<bool(const std::string&)>& is_model,
                                      std::vector<std::string>& problems) {
  policy::PoliciesConfig c;
  if (!node || node.IsNull()) return c;
  Fields f(node, "policies", problems);
  f.reject_unknown({"tenants", "keys"});
  for (const char* section : {"tenants", "keys"}) {
    const YAML::Node m = f.child(section);
    if (!m || m.IsNull()) continue;
    if (!m.IsMap()) {
      f.problem(section, "must be a mapping of names to policies");
      continue;
    }
    const bool keys = section == std::string_view("keys");
    for (const auto& kv : m) {
      const std::optional<std::string> name = key_text(kv.first, f.path(section), problems);
      if (!name) continue;
      const std::string path = f.path(section) + "." + *name;
      if (keys && !is_key_id(*name))
        problems.push_back(path + ": not a key id (12 hex digits, as fathom keys list shows)");
      else if (name->empty())
        problems.push_back(path + ": a tenant name must not be empty");
      (keys ? c.keys : c.tenants)[*name] = parse_spec(kv.second, path, is_model, problems);
    }
  }
  return c;
}

}  // namespace fathom::gateway
