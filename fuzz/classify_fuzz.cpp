// libFuzzer target: request classification (issue 11). The input is either a request body,
// read by request_texts and classified, or raw text run through every detector. Beyond "no
// crash, no exception, no sanitizer report" it checks what the detectors promise: spans lie
// inside the text, are sorted and disjoint, a digit match touches no other digit or letter,
// each match re-validates by its own kind's rules on its own bytes, and classification is
// deterministic and never lowered by the header. Redaction (redactor.h) of a request body
// either refuses or leaves texts that classify clean, and restoring the redacted texts gives
// the originals back, whole and fed in pieces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gateway/classify/classifier.h"
#include "gateway/classify/detectors.h"
#include "gateway/classify/redactor.h"

namespace {

using namespace fathom::gateway::classify;

void check(bool ok) {
  if (!ok) std::abort();
}

bool alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

const ClassifierConfig& config() {
  static const ClassifierConfig cfg = [] {
    ClassifierConfig c;
    c.keywords = {*normalize_keyword("secret"), *normalize_keyword("机密")};
    c.patterns = {*compile_pattern(R"(\bPRJ-\d{4}\b)"), *compile_pattern("(?i)(a|b)*c{2,}")};
    return c;
  }();
  return cfg;
}

void check_matches(std::string_view text) {
  const std::vector<Match> all = detect(text);
  size_t last_end = 0;
  for (const Match& m : all) {
    check(m.begin < m.end && m.end <= text.size() && m.begin >= last_end);
    last_end = m.end;
    // A match re-found on its own bytes, by its kind alone, is the same match.
    const std::string_view s = text.substr(m.begin, m.end - m.begin);
    const std::vector<Match> again = detect(s, detector_bit(m.kind));
    const bool digit_kind = m.kind == DetectorKind::kCnIdCard || m.kind == DetectorKind::kCnUscc ||
                            m.kind == DetectorKind::kBankCard;
    if (digit_kind) {
      check(m.begin == 0 || !alnum(text[m.begin - 1]));
      check(m.end == text.size() || !alnum(text[m.end]));
      check(again.size() == 1 && again[0].begin == 0 && again[0].end == s.size());
    }
    if (m.kind == DetectorKind::kCnIdCard)
      check(cn_id_check_char(s.substr(0, 17)) == (s[17] == 'x' ? 'X' : s[17]));
    if (m.kind == DetectorKind::kCnUscc) check(uscc_check_char(s.substr(0, 17)) == s[17]);
  }
}

void check_redaction(const nlohmann::json& body) {
  nlohmann::json redacted = body;
  const std::optional<Redaction> r = Redaction::apply(redacted, config());
  if (!r) return;  // refused: the request stays on-prem
  check(!classify({.texts = request_texts(redacted)}, config()).sensitive);
  const std::vector<std::string_view> before = request_texts(body), after = request_texts(redacted);
  check(before.size() == after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    check(r->restore(after[i]) == before[i]);
    StreamRestorer s(&*r);  // in pieces of 3 bytes
    std::string pieces;
    for (size_t at = 0; at < after[i].size(); at += 3) pieces += s.feed(after[i].substr(at, 3));
    check(pieces + s.flush() == before[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> texts;
  nlohmann::json body;
  if (!input.empty() && input[0] == '{') {
    body = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
    texts = request_texts(body);  // any shape: must not throw
    for (std::string_view t : texts) check(!t.empty());
  } else {
    texts = {input};
  }
  for (std::string_view t : texts) check_matches(t);

  const Classification c = classify({.texts = texts}, config());
  const Classification again = classify({.texts = texts}, config());
  check(c.sensitive == again.sensitive && c.reasons == again.reasons &&
        c.detector_counts == again.detector_counts && c.keyword_count == again.keyword_count &&
        c.pattern_count == again.pattern_count);
  check(c.sensitive == (c.reasons != 0));
  for (const char* header : {"sensitive", "public", ""}) {
    const Classification h = classify({.texts = texts, .sensitivity_header = header}, config());
    check(h.sensitive >= c.sensitive);
    check((h.reasons & ~kReasonHeader) == c.reasons);
  }
  if (body.is_object()) check_redaction(body);
  return 0;
}
