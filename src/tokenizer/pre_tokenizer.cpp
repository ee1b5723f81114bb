#include "tokenizer/pre_tokenizer.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// Applies a delimiter behavior to the ordered, gap-free spans of `piece` (HF semantics).
void apply_behavior(std::string_view piece, const std::vector<Span>& spans, SplitBehavior behavior,
                    std::vector<std::string_view>& out) {
  std::vector<std::pair<size_t, size_t>> kept;
  kept.reserve(spans.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) kept.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Span& s : spans)
        if (!s.is_match) kept.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !kept.empty()) {
          kept.back().second = s.end;
        } else {
          kept.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty()) {
          kept.back().first = it->begin;
        } else {
          kept.emplace_back(it->begin, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    case SplitBehavior::kContiguous:
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !kept.empty()) {
          kept.back().second = s.end;
        } else {
          kept.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
  }
  for (auto [b, e] : kept)
    if (e > b) out.push_back(piece.substr(b, e - b));
}

// Matches plus the gaps between them, covering the whole piece.
void spans_from_matches(size_t size, const std::vector<std::pair<size_t, size_t>>& matches,
                        bool invert, std::vector<Span>& spans) {
  spans.clear();
  size_t last = 0;
  for (auto [b, e] : matches) {
    if (b > last) spans.push_back({last, b, invert});
    spans.push_back({b, e, !invert});
    last = e;
  }
  if (last < size) spans.push_back({last, size, invert});
}

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Regex re, SplitBehavior behavior, bool invert)
      : re_(std::move(re)), behavior_(behavior), invert_(invert) {}

  void split(std::vector<std::string_view>& pieces, PieceArena&) const override {
    std::vector<std::string_view> out;
    out.reserve(pieces.size() * 4);
    std::vector<std::pair<size_t, size_t>> matches;
    std::vector<Span> spans;
    for (std::string_view piece : pieces) {
      matches.clear();
      re_.find_all(piece, matches);
      if (behavior_ == SplitBehavior::kIsolated && !invert_) {
        // Fast path for the common case: matches and gaps, each its own piece.
        size_t last = 0;
        for (auto [b, e] : matches) {
          if (b > last) out.push_back(piece.substr(last, b - last));
          out.push_back(piece.substr(b, e - b));
          last = e;
        }
        if (last < piece.size()) out.push_back(piece.substr(last));
        continue;
      }
      spans_from_matches(piece.size(), matches, invert_, spans);
      apply_behavior(piece, spans, behavior_, out);
    }
    pieces.swap(out);
  }

 private:
  Regex re_;
  SplitBehavior behavior_;
  bool invert_;
};

// Rust char::is_numeric: general categories Nd, Nl, No.
bool is_numeric(char32_t cp) {
  const int8_t type = u_charType(static_cast<UChar32>(cp));
  return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}

  void split(std::vector<std::string_view>& pieces, PieceArena&) const override {
    std::vector<std::string_view> out;
    std::vector<Span> spans;
    for (std::string_view piece : pieces) {
      spans.clear();
      size_t pos = 0;
      while (pos < piece.size()) {
        const Utf8Char c = decode_utf8(piece, pos);
        const bool numeric = is_numeric(c.code_point);
        // Each digit is a match; the text between digits is one gap.
        if (!numeric && !spans.empty() && !spans.back().is_match) {
          spans.back().end = pos + c.num_bytes;
        } else {
          spans.push_back({pos, pos + c.num_bytes, numeric});
        }
        pos += c.num_bytes;
      }
      apply_behavior(piece, spans,
                     individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, out);
    }
    pieces.swap(out);
  }

 private:
  bool individual_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<SplitPreTokenizer> regex_split)
      : add_prefix_space_(add_prefix_space), regex_split_(std::move(regex_split)) {}

  void split(std::vector<std::string_view>& pieces, PieceArena& arena) const override {
    if (add_prefix_space_) {
      for (std::string_view& piece : pieces)
        if (piece.empty() || piece.front() != ' ') piece = arena.add(" " + std::string(piece));
    }
    if (regex_split_) regex_split_->split(pieces, arena);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<SplitPreTokenizer> regex_split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void split(std::vector<std::string_view>& pieces, PieceArena& arena) const override {
    for (const auto& p : parts_) p->split(pieces, arena);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

Result<SplitBehavior> parse_behavior(const Json& spec) {
  if (!spec.contains("behavior") || !spec["behavior"].is_string()) {
    return invalid_argument("pre_tokenizer Split: missing string \"behavior\"");
  }
  const std::string b = spec["behavior"].get<std::string>();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return invalid_argument("pre_tokenizer Split: unknown behavior \"" + b + "\"");
}

Result<PreTokenizerInfo> make_one(const Json& spec, bool last_in_sequence) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("pre_tokenizer: expected an object with a string \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  PreTokenizerInfo info;
  if (type == "Split") {
    if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
      return invalid_argument("pre_tokenizer Split: missing object \"pattern\"");
    }
    const Json& pat = spec["pattern"];
    Result<Regex> re =
        pat.contains("Regex") && pat["Regex"].is_string()
            ? Regex::compile(pat["Regex"].get<std::string>())
        : pat.contains("String") && pat["String"].is_string()
            ? Regex::compile_literal(pat["String"].get<std::string>())
            : Result<Regex>(invalid_argument(
                  "pre_tokenizer Split: \"pattern\" needs a string \"Regex\" or \"String\""));
    if (!re.ok()) return re.status().with_context("pre_tokenizer Split");
    FATHOM_ASSIGN_OR_RETURN(SplitBehavior behavior, parse_behavior(spec));
    const bool invert = spec.value("invert", false);
    info.pre_tokenizer = std::make_unique<SplitPreTokenizer>(std::move(*re), behavior, invert);
    return info;
  }
  if (type == "Digits") {
    info.pre_tokenizer =
        std::make_unique<DigitsPreTokenizer>(spec.value("individual_digits", false));
    return info;
  }
  if (type == "ByteLevel") {
    if (!last_in_sequence) {
      return unimplemented(
          "pre_tokenizer ByteLevel must be the last pre-tokenizer of the pipeline");
    }
    std::unique_ptr<SplitPreTokenizer> regex_split;
    if (spec.value("use_regex", true)) {
      FATHOM_ASSIGN_OR_RETURN(Regex re, Regex::compile(kGpt2Pattern));
      regex_split =
          std::make_unique<SplitPreTokenizer>(std::move(re), SplitBehavior::kIsolated, false);
    }
    info.pre_tokenizer = std::make_unique<ByteLevelPreTokenizer>(
        spec.value("add_prefix_space", false), std::move(regex_split));
    info.byte_level = true;
    return info;
  }
  if (type == "Sequence") {
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array()) {
      return invalid_argument("pre_tokenizer Sequence: missing array \"pretokenizers\"");
    }
    const Json& list = spec["pretokenizers"];
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i) {
      FATHOM_ASSIGN_OR_RETURN(PreTokenizerInfo child,
                              make_one(list[i], last_in_sequence && i + 1 == list.size()));
      info.byte_level = info.byte_level || child.byte_level;
      if (child.pre_tokenizer) parts.push_back(std::move(child.pre_tokenizer));
    }
    if (parts.size() == 1) {
      info.pre_tokenizer = std::move(parts[0]);
    } else if (!parts.empty()) {
      info.pre_tokenizer = std::make_unique<SequencePreTokenizer>(std::move(parts));
    }
    return info;
  }
  return unimplemented("pre_tokenizer type \"" + type + "\" is not supported");
}

}  // namespace

Result<PreTokenizerInfo> make_pre_tokenizer(const Json& spec) {
  if (spec.is_null()) return PreTokenizerInfo{};
  return make_one(spec, true);
}

}  // namespace fathom::tokenizer
