// Tenant and key policies (`policies:` in the gateway config, docs/gateway.md "Tenant
// policies"): a default model or adapter, a system prompt the gateway prepends or enforces,
// allowed and denied models, a cap on output tokens, temperature and top_p bounds, and content
// rules on the request's text and on the answer. A key's policy is its tenant's with the key's
// own fields on top.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/classify/classifier.h"

namespace fathom::gateway::policy {

enum class SystemPromptMode {
  kPrepend,  ///< added before the client's messages (its own system messages stay)
  kEnforce,  ///< the only system message: the client's system and developer messages are dropped
};

struct SystemPrompt {
  std::string text;
  SystemPromptMode mode = SystemPromptMode::kPrepend;
};

/// An inclusive range for a sampling parameter.
struct Bounds {
  double min = 0, max = 0;
  bool contains(double v) const { return v >= min && v <= max; }
};

/// Blocked terms and patterns, held as two classifier rule sets without detectors, so matching
/// is the classifier's: terms are ASCII case-insensitive substrings, patterns PCRE2 (JIT) with
/// a match limit past which a text counts as blocked (fail closed). Apart, because a growing
/// stream needs only its new end searched for terms, but the whole text for patterns.
struct ContentRules {
  classify::ClassifierConfig terms{.detectors = 0};     ///< keywords only
  classify::ClassifierConfig patterns{.detectors = 0};  ///< patterns only
  size_t longest_term_bytes = 0;
  bool input = true;   ///< the request's text (messages, prompt, input)
  bool output = true;  ///< the answer, streamed or whole

  /// `term` as classify::normalize_keyword gives it.
  void add_term(std::string term) {
    longest_term_bytes = std::max(longest_term_bytes, term.size());
    terms.keywords.push_back(std::move(term));
  }
  bool empty() const { return terms.keywords.empty() && patterns.patterns.empty(); }
};

/// One tenant's or one key's policy as configured. An unset field (nullopt) is not set at this
/// level; a key's set field replaces its tenant's, except `denied_models` and `content`, which
/// add to the tenant's (a key cannot lift its tenant's denials or content rules).
struct PolicySpec {
  std::optional<std::string> default_model;        ///< a model route name or alias
  std::vector<std::string> default_model_aliases;  ///< names that mean default_model (with it)
  std::optional<std::vector<std::string>> allowed_models;  ///< globs (fnmatch); unset: all
  std::vector<std::string> denied_models;                  ///< globs (fnmatch)
  std::optional<SystemPrompt> system_prompt;
  std::optional<int64_t> max_output_tokens;  ///< above it: 400; absent in the request: set to it
  std::optional<Bounds> temperature, top_p;  ///< outside: 400; absent: the default clamped in
  ContentRules content;
  std::optional<std::string> refusal;  ///< what replaces a blocked answer
};

/// The `policies:` section.
struct PoliciesConfig {
  std::map<std::string, PolicySpec> tenants;
  std::map<std::string, PolicySpec> keys;  ///< by key id (12 hex digits)
};

inline constexpr std::string_view kDefaultRefusal =
    "The answer was withheld: it breaks this account's content policy.";

/// The policy of one request: pointers into the config's specs (the routing snapshot that holds
/// the config outlives every request that uses it). Cheap to copy.
class Policy {
 public:
  static Policy resolve(const PoliciesConfig& cfg, const std::string& tenant,
                        const std::string& key_id);

  bool empty() const { return !tenant_ && !key_; }
  const std::optional<std::string>& default_model() const;
  /// Whether `name` is one of the default model's aliases (of the level that sets it).
  bool is_default_alias(const std::string& name) const;
  const std::optional<SystemPrompt>& system_prompt() const {
    return pick(&PolicySpec::system_prompt);
  }
  const std::optional<int64_t>& max_output_tokens() const {
    return pick(&PolicySpec::max_output_tokens);
  }
  const std::optional<Bounds>& temperature() const { return pick(&PolicySpec::temperature); }
  const std::optional<Bounds>& top_p() const { return pick(&PolicySpec::top_p); }
  std::string_view refusal() const;
  /// Allowed (by the allow list that applies, if any) and not denied (by either level). Each
  /// of `names` (the client's name and the route's) is tried.
  bool allows_model(std::initializer_list<std::string_view> names) const;
  /// Whether any content rule applies to the answer (the gateway then reads every chunk).
  bool filters_output() const;
  /// True when a content rule for the request's text (`output` false) or the answer's
  /// (`output` true) matches `text`, or a pattern gave up on it (fail closed). `checked_bytes`:
  /// a prefix of `text` already checked (a stream's text so far), so only terms that end after
  /// it are looked for.
  bool blocks(std::string_view text, bool output, size_t checked_bytes = 0) const;
  /// "tenant acme" or "key 6f21c4d342bc": whose policy it is, for error messages.
  std::string owner() const;

 private:
  template <class T>
  const std::optional<T>& pick(std::optional<T> PolicySpec::*field) const {
    if (key_ && (key_->*field)) return key_->*field;
    if (tenant_) return tenant_->*field;
    static const std::optional<T> kNone;
    return kNone;
  }

  const PolicySpec* tenant_ = nullptr;
  const PolicySpec* key_ = nullptr;
  std::string tenant_name_, key_id_;
};

}  // namespace fathom::gateway::policy
