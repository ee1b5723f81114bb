#include "gateway/policy/policy.h"

#include <fnmatch.h>

#include <algorithm>

namespace fathom::gateway::policy {
namespace {

bool glob_matches(const std::vector<std::string>& globs,
                  std::initializer_list<std::string_view> names) {
  for (const std::string& g : globs)
    for (std::string_view n : names)
      if (!n.empty() && fnmatch(g.c_str(), std::string(n).c_str(), 0) == 0) return true;
  return false;
}

bool rules_block(const PolicySpec* spec, std::string_view text, bool output, size_t checked) {
  if (!spec) return false;
  const ContentRules& c = spec->content;
  if (c.empty() || !(output ? c.output : c.input)) return false;
  std::vector<classify::Span> spans;
  if (!c.terms.keywords.empty()) {
    // A term that ends after `checked` starts after checked - longest_term_bytes.
    const size_t from = checked >= c.longest_term_bytes ? checked - c.longest_term_bytes + 1 : 0;
    classify::find_spans(text.substr(std::min(from, text.size())), c.terms, spans);
    if (!spans.empty()) return true;
  }
  if (c.patterns.patterns.empty()) return false;
  const bool complete = classify::find_spans(text, c.patterns, spans);
  return !complete || !spans.empty();
}

}  // namespace

Policy Policy::resolve(const PoliciesConfig& cfg, const std::string& tenant,
                       const std::string& key_id) {
  Policy p;
  if (auto t = cfg.tenants.find(tenant); t != cfg.tenants.end()) {
    p.tenant_ = &t->second;
    p.tenant_name_ = tenant;
  }
  if (auto k = cfg.keys.find(key_id); k != cfg.keys.end()) {
    p.key_ = &k->second;
    p.key_id_ = key_id;
  }
  return p;
}

const std::optional<std::string>& Policy::default_model() const {
  return pick(&PolicySpec::default_model);
}

bool Policy::is_default_alias(const std::string& name) const {
  const PolicySpec* level = key_ && key_->default_model ? key_ : tenant_;
  if (!level || !level->default_model) return false;
  const auto& aliases = level->default_model_aliases;
  return std::find(aliases.begin(), aliases.end(), name) != aliases.end();
}

std::string_view Policy::refusal() const {
  const std::optional<std::string>& r = pick(&PolicySpec::refusal);
  return r ? std::string_view(*r) : kDefaultRefusal;
}

bool Policy::allows_model(std::initializer_list<std::string_view> names) const {
  for (const PolicySpec* s : {tenant_, key_})
    if (s && glob_matches(s->denied_models, names)) return false;
  const std::optional<std::vector<std::string>>& allowed = pick(&PolicySpec::allowed_models);
  return !allowed || glob_matches(*allowed, names);
}

bool Policy::filters_output() const {
  for (const PolicySpec* s : {tenant_, key_})
    if (s && s->content.output && !s->content.empty()) return true;
  return false;
}

bool Policy::blocks(std::string_view text, bool output, size_t checked_bytes) const {
  return rules_block(tenant_, text, output, checked_bytes) ||
         rules_block(key_, text, output, checked_bytes);
}

std::string Policy::owner() const {
  if (key_) return "key " + key_id_;
  return tenant_ ? "tenant " + tenant_name_ : "gateway";
}

}  // namespace fathom::gateway::policy
