#include "gateway/classify/classifier.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <type_traits>

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
  /// Non-overlapping matches in `text`, at most kMaxMatches, each passed to `on_match(begin,
  /// end)`; a match PCRE2 gives up on (match or JIT stack limit) adds to `errors` and ends
  /// the search. Returns the number of matches.
  template <class F>
  int32_t each(std::string_view text, pcre2_match_data* md, int32_t& errors, F&& on_match) const;
  int32_t count(std::string_view text, pcre2_match_data* md, int32_t& errors) const {
    return each(text, md, errors, [](size_t, size_t) {});
  }

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
// `on_match(begin)` for each; returns how many.
template <class F>
int32_t each_occurrence(std::string_view hay, std::string_view needle, F&& on_match) {
  int32_t n = 0;
  for (size_t at = 0; at + needle.size() <= hay.size();) {
    const void* p = memmem(hay.data() + at, hay.size() - at, needle.data(), needle.size());
    if (!p) break;
    ++n;
    const auto begin = static_cast<size_t>(static_cast<const char*>(p) - hay.data());
    on_match(begin);
    at = begin + needle.size();
  }
  return n;
}

int32_t count_occurrences(std::string_view hay, std::string_view needle) {
  return each_occurrence(hay, needle, [](size_t) {});
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

// ---- the request's text fields: every accessor checks the type first, so nothing here throws.
// Templates over `const Json` (request_texts) and `Json` (for_each_request_text, which may
// edit the strings in place).

using Json = nlohmann::json;

template <class J>
J* field(J& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

template <class J, class F>
void visit_string(J* v, F& fn) {
  if (v && v->is_string() && !v->template get_ref<const std::string&>().empty())
    fn(v->template get_ref<
        std::conditional_t<std::is_const_v<J>, const std::string&, std::string&>>());
}

// A content value: a string, or an array of strings (a completions prompt) and of parts
// whose `text` (chat text parts, Responses input_text / output_text) or `refusal` we read.
// Image, audio and file parts carry base64 and URLs, not prose: skipped.
template <class J, class F>
void visit_content(J* v, F& fn) {
  if (!v) return;
  if (v->is_string()) return visit_string(v, fn);
  if (!v->is_array()) return;
  for (J& part : *v) {
    if (part.is_string()) {
      visit_string(&part, fn);
    } else {
      visit_string(field(part, "text"), fn);
      visit_string(field(part, "refusal"), fn);
    }
  }
}

template <class J, class F>
void visit_chat_messages(J* messages, F& fn) {
  if (!messages || !messages->is_array()) return;
  for (J& m : *messages) {
    visit_content(field(m, "content"), fn);  // every role: tool results are role "tool"
    visit_string(field(m, "refusal"), fn);
    visit_string(field(m, "reasoning_content"), fn);
    if (J* calls = field(m, "tool_calls"); calls && calls->is_array())
      for (J& call : *calls) {
        if (J* f = field(call, "function")) visit_string(field(*f, "arguments"), fn);
      }
    if (J* fc = field(m, "function_call")) visit_string(field(*fc, "arguments"), fn);
  }
}

template <class J, class F>
void visit_responses_input(J* input, F& fn) {
  if (!input) return;
  if (input->is_string()) return visit_string(input, fn);
  if (!input->is_array()) return;
  for (J& item : *input) {
    if (item.is_string()) {
      visit_string(&item, fn);
      continue;
    }
    visit_content(field(item, "content"), fn);  // messages (easy or typed)
    visit_string(field(item, "text"), fn);
    visit_string(field(item, "arguments"), fn);  // function_call
    visit_string(field(item, "input"), fn);      // custom_tool_call
    visit_content(field(item, "output"), fn);    // function_call_output: string or parts
  }
}

template <class J, class F>
void visit_request_texts(J& body, F&& fn) {
  if (!body.is_object()) return;
  visit_chat_messages(field(body, "messages"), fn);
  visit_content(field(body, "prompt"), fn);
  visit_string(field(body, "suffix"), fn);
  visit_string(field(body, "instructions"), fn);
  visit_responses_input(field(body, "input"), fn);
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

template <class F>
int32_t Pattern::each(std::string_view text, pcre2_match_data* md, int32_t& errors,
                      F&& on_match) const {
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
    if (ov[1] > ov[0]) on_match(ov[0], ov[1]);
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
  std::vector<std::string_view> out;
  visit_request_texts(body, [&](const std::string& s) { out.emplace_back(s); });
  return out;
}

void for_each_request_text(nlohmann::json& body, const std::function<void(std::string&)>& fn) {
  visit_request_texts(body, fn);
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

bool find_spans(std::string_view text, const ClassifierConfig& cfg, std::vector<Span>& out) {
  out.clear();
  for (const Match& m : detect(text, cfg.detectors))
    out.push_back({m.begin, m.end, detector_name(m.kind)});
  if (!cfg.keywords.empty()) {
    std::string lowered(text);
    for (char& ch : lowered) ch = ascii_lower(ch);
    for (const std::string& k : cfg.keywords)
      each_occurrence(lowered, k, [&](size_t b) { out.push_back({b, b + k.size(), "keyword"}); });
  }
  int32_t errors = 0;
  if (!cfg.patterns.empty()) {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    if (!md) return false;
    for (const auto& p : cfg.patterns)
      p->each(text, md, errors, [&](size_t b, size_t e) { out.push_back({b, e, "pattern"}); });
    pcre2_match_data_free(md);
  }
  // Earlier first; at one start the longer span; a span overlapping a kept one is dropped.
  std::sort(out.begin(), out.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  size_t kept = 0, covered = 0;
  for (const Span& s : out)
    if (kept == 0 || s.begin >= covered) {
      out[kept++] = s;
      covered = s.end;
    }
  out.resize(kept);
  return errors == 0;
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
