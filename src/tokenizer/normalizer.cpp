#include "tokenizer/normalizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <nlohmann/json.hpp>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };

class IcuNormalizer final : public Normalizer {
 public:
  explicit IcuNormalizer(const icu::Normalizer2* impl) : impl_(impl) {}
  void normalize(std::string& text) const override {
    UErrorCode status = U_ZERO_ERROR;
    // Fast path: most text is already normalized.
    const icu::UnicodeString src = icu::UnicodeString::fromUTF8(text);
    if (impl_->isNormalized(src, status) && U_SUCCESS(status)) return;
    status = U_ZERO_ERROR;
    const icu::UnicodeString dst = impl_->normalize(src, status);
    if (U_FAILURE(status)) return;  // leave the text as it was; ICU fails only on OOM
    text.clear();
    dst.toUTF8String(text);
  }

 private:
  const icu::Normalizer2* impl_;  // owned by ICU, lives for the process
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(text);
    s.toLower(icu::Locale::getRoot());
    text.clear();
    s.toUTF8String(text);
  }
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Regex re, std::string content)
      : re_(std::move(re)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    re_.find_all(text, matches);
    if (matches.empty()) return;
    std::string out;
    size_t last = 0;
    for (auto [b, e] : matches) {
      out.append(text, last, b - last);
      out += content_;
      last = e;
    }
    out.append(text, last, std::string::npos);
    text = std::move(out);
  }

 private:
  Regex re_;
  std::string content_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t begin = 0;
    size_t end = text.size();
    if (left_) {
      while (begin < end) {
        const Utf8Char c = decode_utf8(text, begin);
        if (!is_unicode_whitespace(c.code_point)) break;
        begin += c.num_bytes;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
        if (!is_unicode_whitespace(decode_utf8(text, start).code_point)) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_;
  bool right_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

Result<std::unique_ptr<Normalizer>> make_icu(UnicodeForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* impl = nullptr;
  switch (form) {
    case UnicodeForm::kNfc:
      impl = icu::Normalizer2::getNFCInstance(status);
      break;
    case UnicodeForm::kNfd:
      impl = icu::Normalizer2::getNFDInstance(status);
      break;
    case UnicodeForm::kNfkc:
      impl = icu::Normalizer2::getNFKCInstance(status);
      break;
    case UnicodeForm::kNfkd:
      impl = icu::Normalizer2::getNFKDInstance(status);
      break;
  }
  if (U_FAILURE(status) || impl == nullptr) {
    return internal_error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
  }
  return std::unique_ptr<Normalizer>(std::make_unique<IcuNormalizer>(impl));
}

}  // namespace

Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& spec) {
  if (spec.is_null()) return std::unique_ptr<Normalizer>();
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("normalizer: expected an object with a string \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "NFC") return make_icu(UnicodeForm::kNfc);
  if (type == "NFD") return make_icu(UnicodeForm::kNfd);
  if (type == "NFKC") return make_icu(UnicodeForm::kNfkc);
  if (type == "NFKD") return make_icu(UnicodeForm::kNfkd);
  if (type == "Lowercase")
    return std::unique_ptr<Normalizer>(std::make_unique<LowercaseNormalizer>());
  if (type == "Prepend") {
    if (!spec.contains("prepend") || !spec["prepend"].is_string()) {
      return invalid_argument("normalizer Prepend: missing string \"prepend\"");
    }
    return std::unique_ptr<Normalizer>(
        std::make_unique<PrependNormalizer>(spec["prepend"].get<std::string>()));
  }
  if (type == "Strip") {
    const bool left = spec.value("strip_left", true);
    const bool right = spec.value("strip_right", true);
    return std::unique_ptr<Normalizer>(std::make_unique<StripNormalizer>(left, right));
  }
  if (type == "Replace") {
    if (!spec.contains("pattern") || !spec["pattern"].is_object() || !spec.contains("content") ||
        !spec["content"].is_string()) {
      return invalid_argument(
          "normalizer Replace: needs \"pattern\" {String|Regex} and string \"content\"");
    }
    const Json& pat = spec["pattern"];
    Result<Regex> re = pat.contains("Regex") && pat["Regex"].is_string()
                           ? Regex::compile(pat["Regex"].get<std::string>())
                       : pat.contains("String") && pat["String"].is_string()
                           ? Regex::compile_literal(pat["String"].get<std::string>())
                           : Result<Regex>(invalid_argument("normalizer Replace: bad \"pattern\""));
    if (!re.ok()) return re.status();
    return std::unique_ptr<Normalizer>(
        std::make_unique<ReplaceNormalizer>(std::move(*re), spec["content"].get<std::string>()));
  }
  if (type == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      return invalid_argument("normalizer Sequence: missing array \"normalizers\"");
    }
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const Json& child : spec["normalizers"]) {
      FATHOM_ASSIGN_OR_RETURN(auto part, make_normalizer(child));
      if (part) parts.push_back(std::move(part));
    }
    if (parts.empty()) return std::unique_ptr<Normalizer>();
    if (parts.size() == 1) return std::move(parts[0]);
    return std::unique_ptr<Normalizer>(std::make_unique<SequenceNormalizer>(std::move(parts)));
  }
  return unimplemented("normalizer type \"" + type + "\" is not supported");
}

}  // namespace fathom::tokenizer
