// Pre-tokenizers from tokenizer.json ("pre_tokenizer"): Sequence, Split (regex or literal, all
// five delimiter behaviors, invert), ByteLevel, Digits. They cut normalized text into pieces
// that the BPE model encodes one by one. ByteLevel's byte-to-char mapping is not applied here:
// the BPE model of a byte-level tokenizer works on raw bytes (see bpe.h).
#pragma once

#include <deque>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/regex.h"

namespace fathom::tokenizer {

/// Storage for pieces a pre-tokenizer had to create (e.g. a prefix space).
class PieceArena {
 public:
  std::string_view add(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back();
  }
  void clear() { strings_.clear(); }

 private:
  std::deque<std::string> strings_;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  /// Replaces every piece by its sub-pieces (in order, none empty).
  virtual void split(std::vector<std::string_view>& pieces, PieceArena& arena) const = 0;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerInfo {
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // nullptr: the text is one piece
  bool byte_level = false;  // a ByteLevel pre-tokenizer ends the pipeline: the model sees bytes
};

/// Builds the pre-tokenizer described by `spec` (a tokenizer.json "pre_tokenizer" value).
Result<PreTokenizerInfo> make_pre_tokenizer(const nlohmann::json& spec);

/// The GPT-2 split pattern ByteLevel uses when use_regex is true.
inline constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

}  // namespace fathom::tokenizer
