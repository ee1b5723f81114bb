#include "gateway/classify/classifier.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

namespace fathom::gateway::classify {

class Pattern {
 public:
  explicit Pattern(std::string source) : source_(std::move(source)) {}
  ~Pattern() {
    pcre2_match_context_free(match_ctx_);
    pcre2_code_free(code_);
  }
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  Status compile();
  const std::string& source() const { return source_; }
  /// Non-overlapping matches in `text`, at most kMaxMatches; a match PCRE2 gives up on
  /// (match or JIT stack limit) adds to `errors` and ends the count.
  int32_t count(std::string_view text, pcre2_match_data* md, int32_t& errors) const;

 private:
  // Bounds on one pattern over one text piece: a pattern that backtracks catastrophically on
  // some input (ReDoS) costs at most this much per request, then fails closed.
  static constexpr uint32_t kMatchLimit = 1'000'000;
  static constexpr int32_t kMaxMatches = 10'000;

  std::string source_;
  pcre2_code* code_ = nullptr;
  pcre2_match_context* match_ctx_ = nullptr;
};

namespace {

constexpr std::string_view kEmpty;

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    const size_t len = c < 0x80         ? 1
                       : (c >> 5) == 6  ? 2
                       : (c >> 4) == 14 ? 3
                       : (c >> 3) == 30 ? 4
                                        : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Occurrences of `needle` in `hay` (both lower-cased), not overlapping. ASCII bytes never
// occur inside a multi-byte UTF-8 character and a lead byte never equals a continuation
// byte, so a match of a valid UTF-8 keyword always starts and ends on character boundaries.
int32_t count_occurrences(std::string_view hay, std::string_view needle) {
  int32_t n = 0;
  for (size_t at = 0; at + needle.size() <= hay.size();) {
    const void* p = memmem(hay.data() + at, hay.size() - at, needle.data(), needle.size());
    if (!p) break;
    ++n;
    at = static_cast<size_t>(static_cast<const char*>(p) - hay.data()) + needle.size();
  }
  return n;
}

bool header_says_sensitive(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  constexpr std::string_view kSensitive = "sensitive";
  if (v.size() != kSensitive.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (ascii_lower(v[i]) != kSensitive[i]) return false;
  return true;
}

// ---- request_texts: every accessor checks the type first, so nothing here throws ----

using Json = nlohmann::json;
using Texts = std::vector<std::string_view>;

const Json* field(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

void add_string(const Json* v, Texts& out) {
  if (!v || !v->is_string()) return;
  const std::string& s = v->get_ref<const std::string&>();
  if (!s.empty()) out.emplace_back(s);
}

// A content value: a string, or an array of strings (a completions prompt) and of parts
// whose `text` (chat text parts, Responses input_text / output_text) or `refusal` we read.
// Image, audio and file parts carry base64 and URLs, not prose: skipped.
void add_content(const Json* v, Texts& out) {
  if (!v) return;
  if (v->is_string()) return add_string(v, out);
  if (!v->is_array()) return;
  for (const Json& part : *v) {
    if (part.is_string()) {
      add_string(&part, out);
    } else {
      add_string(field(part, "text"), out);
      add_string(field(part, "refusal"), out);
    }
  }
}

void add_chat_messages(const Json* messages, Texts& out) {
  if (!messages || !messages->is_array()) return;
  for (const Json& m : *messages) {
    add_content(field(m, "content"), out);  // every role: tool results are role "tool"
    add_string(field(m, "refusal"), out);
    add_string(field(m, "reasoning_content"), out);
    if (const Json* calls = field(m, "tool_calls"); calls && calls->is_array())
      for (const Json& call : *calls) {
        if (const Json* fn = field(call, "function")) add_string(field(*fn, "arguments"), out);
      }
    if (const Json* fc = field(m, "function_call")) add_string(field(*fc, "arguments"), out);
  }
}

void add_responses_input(const Json* input, Texts& out) {
  if (!input) return;
  if (input->is_string()) return add_string(input, out);
  if (!input->is_array()) return;
  for (const Json& item : *input) {
    if (item.is_string()) {
      add_string(&item, out);
      continue;
    }
    add_content(field(item, "content"), out);  // messages (easy or typed)
    add_string(field(item, "text"), out);
    add_string(field(item, "arguments"), out);  // function_call
    add_string(field(item, "input"), out);      // custom_tool_call
    add_content(field(item, "output"), out);    // function_call_output: string or parts
  }
}

}  // namespace

Status Pattern::compile() {
  int err = 0;
  PCRE2_SIZE offset = 0;
  // UTF mode with Unicode properties (\d, \w and \b know CJK text); invalid UTF-8 in a
  // subject simply does not match rather than failing the whole match.
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source_.data()), source_.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
  if (!code_) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    return invalid_argument(
        "not a valid regular expression: " + std::string(reinterpret_cast<const char*>(msg)) +
        " at offset " + std::to_string(offset));
  }
  (void)pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // without JIT the interpreter runs it
  match_ctx_ = pcre2_match_context_create(nullptr);
  if (!match_ctx_) return internal_error("pcre2_match_context_create failed");
  pcre2_set_match_limit(match_ctx_, kMatchLimit);
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  if (!md) return internal_error("pcre2_match_data_create failed");
  const int rc =
      pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(kEmpty.data()), 0, 0, 0, md, match_ctx_);
  pcre2_match_data_free(md);
  if (rc >= 0) return invalid_argument("matches the empty string, so every request would match");
  return ok_status();
}

int32_t Pattern::count(std::string_view text, pcre2_match_data* md, int32_t& errors) const {
  int32_t found = 0;
  for (size_t offset = 0; offset <= text.size() && found < kMaxMatches;) {
    const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                               offset, 0, md, match_ctx_);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      ++errors;
      break;
    }
    ++found;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t next = ov[1];
    if (ov[1] <= ov[0]) {  // an empty match (a lookahead, \b): step over one character
      next = std::max<size_t>(ov[0], offset) + 1;
      while (next < text.size() && (static_cast<uint8_t>(text[next]) & 0xc0) == 0x80) ++next;
    }
    offset = next;
  }
  return found;
}

Result<std::shared_ptr<const Pattern>> compile_pattern(const std::string& source) {
  auto p = std::make_shared<Pattern>(source);
  FATHOM_RETURN_IF_ERROR(p->compile());
  return std::shared_ptr<const Pattern>(std::move(p));
}

const std::string& pattern_source(const Pattern& p) { return p.source(); }

Result<std::string> normalize_keyword(std::string_view keyword) {
  if (keyword.empty()) return invalid_argument("a keyword must not be empty");
  if (!valid_utf8(keyword)) return invalid_argument("a keyword must be valid UTF-8");
  std::string out(keyword);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view reason_name(int bit_index) {
  static constexpr std::string_view kNames[kNumReasons] = {"detector", "keyword", "pattern",
                                                           "always_sensitive", "header"};
  return bit_index >= 0 && bit_index < kNumReasons ? kNames[bit_index] : "unknown";
}

std::vector<std::string_view> request_texts(const nlohmann::json& body) {
  Texts out;
  if (!body.is_object()) return out;
  add_chat_messages(field(body, "messages"), out);
  add_content(field(body, "prompt"), out);
  add_string(field(body, "suffix"), out);
  add_string(field(body, "instructions"), out);
  add_responses_input(field(body, "input"), out);
  return out;
}

Classification classify(const ClassifyInput& in, const ClassifierConfig& cfg) {
  Classification c;
  if (cfg.always_sensitive ||
      std::find(cfg.always_sensitive_keys.begin(), cfg.always_sensitive_keys.end(), in.key_id) !=
          cfg.always_sensitive_keys.end())
    c.reasons |= kReasonAlwaysSensitive;
  if (header_says_sensitive(in.sensitivity_header)) c.reasons |= kReasonHeader;

  std::string lowered;  // one buffer for every piece, only when there are keywords
  pcre2_match_data* md = cfg.patterns.empty() ? nullptr : pcre2_match_data_create(1, nullptr);
  if (!cfg.patterns.empty() && !md) ++c.pattern_errors;  // out of memory: fail closed
  for (std::string_view text : in.texts) {
    if (text.empty()) continue;
    if (cfg.detectors != 0)
      for (const Match& m : detect(text, cfg.detectors))
        ++c.detector_counts[static_cast<size_t>(m.kind)];
    if (!cfg.keywords.empty()) {
      lowered.assign(text);
      for (char& ch : lowered) ch = ascii_lower(ch);
      for (const std::string& k : cfg.keywords) c.keyword_count += count_occurrences(lowered, k);
    }
    if (md)
      for (const auto& p : cfg.patterns) c.pattern_count += p->count(text, md, c.pattern_errors);
  }
  pcre2_match_data_free(md);  // accepts nullptr

  if (std::any_of(c.detector_counts.begin(), c.detector_counts.end(),
                  [](int32_t n) { return n > 0; }))
    c.reasons |= kReasonDetector;
  if (c.keyword_count > 0) c.reasons |= kReasonKeyword;
  if (c.pattern_count > 0 || c.pattern_errors > 0) c.reasons |= kReasonPattern;
  c.sensitive = c.reasons != 0;
  return c;
}

nlohmann::json describe(const Classification& c) {
  nlohmann::json kinds = nlohmann::json::object(), reasons = nlohmann::json::array();
  for (int k = 0; k < kNumDetectorKinds; ++k)
    if (c.detector_counts[k] > 0)
      kinds[std::string(detector_name(static_cast<DetectorKind>(k)))] = c.detector_counts[k];
  if (c.keyword_count > 0) kinds["keyword"] = c.keyword_count;
  if (c.pattern_count > 0) kinds["pattern"] = c.pattern_count;
  for (int b = 0; b < kNumReasons; ++b)
    if (c.reasons & (1 << b)) reasons.push_back(reason_name(b));
  return {{"kinds", std::move(kinds)}, {"reasons", std::move(reasons)}};
}

}  // namespace fathom::gateway::classify
