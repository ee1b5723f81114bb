#include "tokenizer/tokenizer_json.h"

#include <algorithm>
#include <array>

namespace fathom::tokenizer {
namespace {

using Json = nlohmann::json;
using Event = Json::parse_event_t;

constexpr size_t kListReserve = size_t{1} << 18;  // DeepSeek-V3: 128k tokens, 127k merges

// The parser callback. Depths are nlohmann's: a key or value of the root object is at depth 1,
// of model at depth 2, an entry of model.vocab or model.merges at depth 3; a container's start
// event carries the depth of its parent, its end event its own key's depth. Returning false
// drops the value from the DOM (for a key: the whole key/value pair, with no map insertion).
class ListTaker {
 public:
  explicit ListTaker(BpeLists& lists) : lists_(lists) {}

  bool operator()(int depth, Event event, Json& parsed) {
    switch (event) {
      case Event::key:
        if (depth == 3 && in_ == In::kVocab) {
          key_ = parsed.get<std::string>();
          return false;
        }
        if (depth == 1 || depth == 2) path_[depth] = parsed.get<std::string>();
        if (depth == 1) path_[2].clear();
        return true;
      case Event::object_start:
      case Event::array_start:
        if (depth == 2 && path_[1] == "model" && path_[2] == "vocab" &&
            event == Event::object_start) {
          in_ = In::kVocab;
          lists_.has_vocab = true;
        } else if (depth == 2 && path_[1] == "model" && path_[2] == "merges" &&
                   event == Event::array_start) {
          in_ = In::kMerges;
          lists_.has_merges = true;
        } else if (depth == 3 && in_ == In::kVocab) {
          lists_.vocab.emplace_back(std::move(key_), Json::object());  // not an id
          return false;
        } else if (depth == 3 && in_ == In::kMerges && event == Event::object_start) {
          lists_.merges.push_back(Json::object());  // neither "a b" nor ["a", "b"]
          return false;
        }
        return true;
      case Event::object_end:
      case Event::array_end:
        if (depth == 2) {
          in_ = In::kNone;
        } else if (depth == 3 && in_ == In::kMerges) {  // an ["a", "b"] pair, built whole
          lists_.merges.push_back(std::move(parsed));
          return false;
        }
        return true;
      case Event::value:
        if (depth == 3 && in_ == In::kVocab) {
          lists_.vocab.emplace_back(std::move(key_), std::move(parsed));
          return false;
        }
        if (depth == 3 && in_ == In::kMerges) {
          lists_.merges.push_back(std::move(parsed));
          return false;
        }
        return true;
    }
    return true;
  }

 private:
  enum class In { kNone, kVocab, kMerges };
  BpeLists& lists_;
  std::array<std::string, 3> path_;  // the current key at depths 1 and 2
  In in_ = In::kNone;
  std::string key_;  // the vocab key whose value comes next
};

}  // namespace

Result<TokenizerJson> parse_tokenizer_json(std::string_view text) {
  TokenizerJson out;
  // Room for a large vocabulary up front (capacity only: pages are touched as entries come).
  out.lists.vocab.reserve(std::min<size_t>(text.size() / 8, kListReserve));
  out.lists.merges.reserve(std::min<size_t>(text.size() / 8, kListReserve));
  ListTaker taker(out.lists);
  out.dom = Json::parse(
      text, [&taker](int depth, Event event, Json& parsed) { return taker(depth, event, parsed); },
      /*allow_exceptions=*/false);
  if (out.dom.is_discarded()) return invalid_argument("tokenizer.json: not valid JSON");
  return out;
}

}  // namespace fathom::tokenizer
