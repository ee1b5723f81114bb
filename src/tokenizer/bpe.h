// The BPE model of tokenizer.json ("model": {"type": "BPE"}): vocab, ranked merges,
// ignore_merges, unk_token / fuse_unk, byte_fallback, continuing_subword_prefix and
// end_of_word_suffix. For byte-level tokenizers the model works directly on raw bytes: vocab
// and merges are translated from GPT-2's printable form once, at load time.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/flat_map.h"

namespace fathom::tokenizer {

struct BpeLists;  // tokenizer_json.h

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  /// `spec` is the tokenizer.json "model" object, `lists` its vocab and merges as
  /// parse_tokenizer_json took them out of it. `byte_level`: pieces will be raw bytes.
  static Result<BpeModel> from_json(const nlohmann::json& spec, const BpeLists& lists,
                                    bool byte_level);

  BpeModel() = default;
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  /// Appends the ids of one pre-tokenized piece.
  void encode(std::string_view piece, std::vector<int32_t>& out) const;

  /// Vocab entries as written in tokenizer.json.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;
  /// One past the largest id of the model's vocab.
  int32_t vocab_end() const { return static_cast<int32_t>(id_to_token_.size()); }

 private:
  struct MergeValue {
    int32_t rank;
    int32_t new_id;
  };
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    int32_t num_bytes;  // 0 once merged into its left neighbour
    int32_t pair_rank;  // rank of merging with `next`, kNoMerge if none
    int32_t pair_id;    // the merged id
  };
  static constexpr int32_t kNoMerge = INT32_MAX;
  void update_pair(std::vector<Symbol>& symbols, int32_t pos) const;

  void initial_symbols(std::string_view piece, std::vector<Symbol>& symbols) const;
  void merge_symbols(std::vector<Symbol>& symbols) const;
  const MergeValue* find_merge(int32_t left, int32_t right) const;

  FlatStringMap vocab_;       // key: bytes (byte-level) or the token text
  FlatStringMap vocab_text_;  // key: token text as in tokenizer.json (only if byte-level)
  std::vector<std::string> id_to_token_;
  FlatU64Map<MergeValue> merges_;        // (left id, right id) -> rank, merged id
  std::array<int32_t, 256> byte_ids_{};  // byte-level: id of each single byte, -1 if absent
  bool byte_level_ = false;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;

  // Piece -> ids cache; pieces repeat a lot in natural text. Values index cache_ids_, where
  // cache_ids_[i] is the count and the ids follow.
  mutable std::mutex cache_mu_;
  mutable FlatStringMap cache_;
  mutable std::vector<int32_t> cache_ids_;
};

}  // namespace fathom::tokenizer
