// Classification of a gateway request as sensitive or not: a pure function of the request's
// text (every message, tool-call argument, tool result, prompt and Responses input), the
// tenant's classification config, the key and the client's x-fathom-sensitivity header.
// The result names the detectors that fired and how often, and why the request is sensitive;
// never the matched text. Routing by sensitivity (issue 11, item 2) reads it; today it goes to
// the access log and /metrics. Config and rules: docs/gateway.md, "Request classification".
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gateway/classify/detectors.h"

namespace fathom::gateway::classify {

/// A PCRE2 regular expression compiled once (with JIT where PCRE2 has it), immutable and
/// shared by every copy of the config; matched by many threads at once.
class Pattern;

/// Compiles `source` (UTF-8 mode, Unicode properties). A syntax error, or a pattern that
/// matches the empty string (it would make every request sensitive), is InvalidArgument.
Result<std::shared_ptr<const Pattern>> compile_pattern(const std::string& source);
const std::string& pattern_source(const Pattern& p);

/// A keyword as the classifier stores it: ASCII letters lower-cased (keywords match
/// case-insensitively; other scripts match exactly). Empty or invalid UTF-8 is
/// InvalidArgument.
Result<std::string> normalize_keyword(std::string_view keyword);

/// One tenant's rules, resolved (defaults merged) at config load.
struct ClassifierConfig {
  DetectorSet detectors = kAllDetectors;
  std::vector<std::string> keywords;  ///< normalized (see normalize_keyword)
  std::vector<std::shared_ptr<const Pattern>> patterns;
  bool always_sensitive = false;                   ///< every request of the tenant
  std::vector<std::string> always_sensitive_keys;  ///< key ids whose every request is
  /// A request sensitive only for what the rules found may go to a cloud pool with each
  /// finding replaced by a placeholder (see redactor.h); otherwise it stays on-prem.
  bool redact = false;
};

/// The `classification:` section of the gateway config.
struct ClassificationConfig {
  bool enabled = false;  ///< true when the section is present, unless it says `enabled: false`
  ClassifierConfig defaults;
  std::map<std::string, ClassifierConfig> tenants;  ///< each already merged with `defaults`
  const ClassifierConfig& for_tenant(const std::string& tenant) const {
    const auto it = tenants.find(tenant);
    return it == tenants.end() ? defaults : it->second;
  }
};

struct ClassifyInput {
  std::vector<std::string_view> texts;  ///< request_texts(body)
  std::string_view key_id;
  std::string_view sensitivity_header;  ///< x-fathom-sensitivity; "" when absent
};

/// Why a request is sensitive, as bits of Classification::reasons.
enum Reason : uint8_t {
  kReasonDetector = 1,
  kReasonKeyword = 2,
  kReasonPattern = 4,
  kReasonAlwaysSensitive = 8,
  kReasonHeader = 16,
};
inline constexpr int kNumReasons = 5;
/// detector, keyword, pattern, always_sensitive, header (bit i is reason i).
std::string_view reason_name(int bit_index);

struct Classification {
  bool sensitive = false;
  uint8_t reasons = 0;  ///< Reason bits
  std::array<int32_t, kNumDetectorKinds> detector_counts{};
  int32_t keyword_count = 0;   ///< keyword occurrences, all keywords together
  int32_t pattern_count = 0;   ///< pattern matches, all patterns together
  int32_t pattern_errors = 0;  ///< matches PCRE2 gave up on (match limit); these fail closed

  bool has(Reason r) const { return reasons & r; }
};

/// What fired, for logs and the audit record (never the matched text):
/// {"kinds": {"cn_id": 1, "keyword": 2, ...}, "reasons": ["detector", ...]}.
nlohmann::json describe(const Classification& c);

/// The request's text pieces, pointing into `body`: messages[].content (a string or the
/// `text` of its parts), .refusal, .reasoning_content, .tool_calls[].function.arguments,
/// .function_call.arguments; the completions `prompt` (a string or strings) and `suffix`; the
/// Responses `instructions` and `input` (a string, or items' content / text parts, function
/// call arguments, tool outputs). Anything of another shape is skipped: never throws.
std::vector<std::string_view> request_texts(const nlohmann::json& body);

/// Calls `fn` on each of the strings request_texts reads, which it may change in place (the
/// redactor replaces entities in them).
void for_each_request_text(nlohmann::json& body, const std::function<void(std::string&)>& fn);

/// A byte span of a text that one of a tenant's rules matched; `kind` is the detector's name,
/// "keyword" or "pattern".
struct Span {
  size_t begin = 0, end = 0;
  std::string_view kind;
};

/// Every span of `text` that `cfg`'s detectors, keywords and patterns match, sorted and not
/// overlapping (of two overlapping spans the one that starts first, or the longer, is kept).
/// False when a pattern gave up on the text (its spans are then unknown: fail closed).
bool find_spans(std::string_view text, const ClassifierConfig& cfg, std::vector<Span>& out);

/// Pure: the same input and config always give the same answer. The header can only raise
/// the result ("sensitive"); any other value is ignored.
Classification classify(const ClassifyInput& in, const ClassifierConfig& cfg);

}  // namespace fathom::gateway::classify
