#include "tokenizer/bpe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <queue>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxCachedPieceBytes = 64;
constexpr size_t kMaxCacheEntries = 1 << 16;
constexpr size_t kLinearMergeMaxSymbols = 48;  // short pieces: a scan beats a heap

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

Status model_error(const std::string& what) { return invalid_argument("model: " + what); }

}  // namespace

BpeModel::BpeModel(BpeModel&& other) noexcept { *this = std::move(other); }

BpeModel& BpeModel::operator=(BpeModel&& other) noexcept {
  if (this == &other) return *this;
  vocab_ = std::move(other.vocab_);
  vocab_text_ = std::move(other.vocab_text_);
  id_to_token_ = std::move(other.id_to_token_);
  merges_ = std::move(other.merges_);
  byte_ids_ = other.byte_ids_;
  byte_level_ = other.byte_level_;
  ignore_merges_ = other.ignore_merges_;
  fuse_unk_ = other.fuse_unk_;
  byte_fallback_ = other.byte_fallback_;
  unk_id_ = other.unk_id_;
  continuing_subword_prefix_ = std::move(other.continuing_subword_prefix_);
  end_of_word_suffix_ = std::move(other.end_of_word_suffix_);
  cache_ = FlatStringMap();
  cache_ids_.clear();
  return *this;
}

Result<BpeModel> BpeModel::from_json(const Json& spec, const BpeLists& lists, bool byte_level) {
  if (!spec.is_object()) return model_error("expected an object");
  const std::string type = spec.value("type", std::string("BPE"));
  if (type != "BPE")
    return unimplemented("model type \"" + type + "\" is not supported (only BPE)");
  if (!lists.has_vocab) return model_error("missing object \"vocab\"");
  if (!lists.has_merges) return model_error("missing array \"merges\"");
  if (spec.contains("dropout") && !spec["dropout"].is_null() &&
      spec["dropout"].get<double>() != 0.0) {
    return unimplemented("model: BPE dropout is not supported");
  }

  BpeModel m;
  m.byte_level_ = byte_level;
  m.ignore_merges_ = spec.value("ignore_merges", false);
  m.fuse_unk_ = spec.value("fuse_unk", false);
  m.byte_fallback_ = spec.value("byte_fallback", false);
  auto str_or_empty = [&](const char* key) {
    return spec.contains(key) && spec[key].is_string() ? spec[key].get<std::string>()
                                                       : std::string();
  };
  m.continuing_subword_prefix_ = str_or_empty("continuing_subword_prefix");
  m.end_of_word_suffix_ = str_or_empty("end_of_word_suffix");
  if (byte_level && (!m.continuing_subword_prefix_.empty() || !m.end_of_word_suffix_.empty())) {
    return unimplemented(
        "model: continuing_subword_prefix/end_of_word_suffix with ByteLevel is not supported");
  }

  const auto& vocab = lists.vocab;
  int32_t max_id = -1;
  for (const auto& [token, value] : vocab) {
    if (!value.is_number_integer())
      return model_error("vocab entry \"" + token + "\" is not an integer id");
    const int64_t id = value.get<int64_t>();
    if (id < 0 || id > (1 << 30))
      return model_error("vocab entry \"" + token + "\" has out-of-range id");
    max_id = std::max(max_id, static_cast<int32_t>(id));
  }
  m.id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  m.vocab_.reserve(vocab.size());
  if (byte_level) m.vocab_text_.reserve(vocab.size());
  m.byte_ids_.fill(-1);
  FlatStringMap& text_vocab = byte_level ? m.vocab_text_ : m.vocab_;
  for (const auto& [token, value] : vocab) {
    const auto id = static_cast<int32_t>(value.get<int64_t>());
    // A JSON object holds each key once (a DOM keeps the last of repeated keys); say so
    // rather than pick one.
    if (!text_vocab.insert(token, id))
      return model_error("vocab entry \"" + token + "\" appears twice");
    m.id_to_token_[id] = token;
    if (!byte_level) continue;
    std::optional<std::string> bytes = byte_level_to_bytes(token);
    if (!bytes) continue;  // a token byte-level BPE can never produce
    if (bytes->size() == 1) m.byte_ids_[static_cast<uint8_t>((*bytes)[0])] = id;
    m.vocab_.insert(*bytes, id);
  }

  const auto& merges = lists.merges;
  m.merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Json& merge = merges[rank];
    std::string left;
    std::string right;
    if (merge.is_string()) {
      const std::string& s = merge.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return model_error("merges[" + std::to_string(rank) + "] \"" + s + "\" is not two tokens");
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return model_error("merges[" + std::to_string(rank) +
                         "] is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const int32_t* l = text_vocab.find(left);
    const int32_t* r = text_vocab.find(right);
    const int32_t* n = text_vocab.find(left + right);
    if (l == nullptr || r == nullptr || n == nullptr) {
      return model_error("merges[" + std::to_string(rank) + "] \"" + left + " " + right +
                         "\" uses a token missing from the vocab");
    }
    m.merges_.insert(pair_key(*l, *r), MergeValue{static_cast<int32_t>(rank), *n});
  }

  if (spec.contains("unk_token") && spec["unk_token"].is_string()) {
    const std::string unk = spec["unk_token"].get<std::string>();
    const int32_t* id = text_vocab.find(unk);
    if (id == nullptr) return model_error("unk_token \"" + unk + "\" is not in the vocab");
    m.unk_id_ = *id;
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const FlatStringMap& text_vocab = byte_level_ ? vocab_text_ : vocab_;
  const int32_t* id = text_vocab.find(token);
  if (id == nullptr) return std::nullopt;
  return *id;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_end() || id_to_token_[id].empty()) return nullptr;
  return &id_to_token_[id];
}

const BpeModel::MergeValue* BpeModel::find_merge(int32_t left, int32_t right) const {
  return merges_.find(pair_key(left, right));
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<Symbol>& symbols) const {
  symbols.clear();
  auto push = [&](int32_t id, int32_t num_bytes) {
    if (fuse_unk_ && unk_id_ && id == *unk_id_ && !symbols.empty() &&
        symbols.back().id == *unk_id_) {
      symbols.back().num_bytes += num_bytes;
      return;
    }
    const auto idx = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, idx - 1, idx + 1, num_bytes, kNoMerge, -1});
  };
  if (byte_level_) {
    for (char c : piece) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
      if (id >= 0) {
        push(id, 1);
      } else if (unk_id_) {
        push(*unk_id_, 1);
      }
    }
  } else {
    size_t pos = 0;
    std::string key;
    while (pos < piece.size()) {
      const Utf8Char c = decode_utf8(piece, pos);
      const std::string_view ch = piece.substr(pos, c.num_bytes);
      const bool first = pos == 0;
      pos += c.num_bytes;
      const bool last = pos == piece.size();
      key.clear();
      if (!first) key += continuing_subword_prefix_;
      key += ch;
      if (last) key += end_of_word_suffix_;
      if (const int32_t* id = vocab_.find(key)) {
        push(*id, c.num_bytes);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        std::vector<int32_t> ids;
        for (char b : ch) {
          char name[8];
          std::snprintf(name, sizeof(name), "<0x%02X>",
                        static_cast<unsigned>(static_cast<uint8_t>(b)));
          const int32_t* bt = vocab_.find(std::string_view(name));
          if (bt == nullptr) {
            all = false;
            break;
          }
          ids.push_back(*bt);
        }
        if (all) {
          for (int32_t id : ids) push(id, 1);
          continue;
        }
      }
      if (unk_id_) push(*unk_id_, c.num_bytes);
    }
  }
  if (!symbols.empty()) symbols.back().next = -1;
}

void BpeModel::update_pair(std::vector<Symbol>& symbols, int32_t pos) const {
  Symbol& s = symbols[pos];
  const MergeValue* mv = s.next == -1 ? nullptr : find_merge(s.id, symbols[s.next].id);
  s.pair_rank = mv ? mv->rank : kNoMerge;
  s.pair_id = mv ? mv->new_id : -1;
}

void BpeModel::merge_symbols(std::vector<Symbol>& symbols) const {
  const auto n = static_cast<int32_t>(symbols.size());
  if (n < 2) return;
  if (static_cast<size_t>(n) <= kLinearMergeMaxSymbols) {
    // Repeatedly merge the lowest-rank adjacent pair, leftmost first (same result as the heap).
    // Each symbol caches the rank of merging with its right neighbour, so a merge costs two
    // lookups and the scan is plain integer compares.
    for (int32_t i = 0; i + 1 < n; ++i) update_pair(symbols, i);
    for (;;) {
      int32_t best_pos = -1;
      int32_t best_rank = kNoMerge;
      for (int32_t i = 0; i != -1; i = symbols[i].next) {
        if (symbols[i].pair_rank < best_rank) {
          best_rank = symbols[i].pair_rank;
          best_pos = i;
        }
      }
      if (best_pos < 0) return;
      Symbol& left = symbols[best_pos];
      Symbol& right = symbols[left.next];
      left.id = left.pair_id;
      left.num_bytes += right.num_bytes;
      right.num_bytes = 0;
      left.next = right.next;
      if (right.next != -1) symbols[right.next].prev = best_pos;
      update_pair(symbols, best_pos);
      if (left.prev != -1) update_pair(symbols, left.prev);
    }
  }
  // Heap of candidate merges ordered by (rank, position), as Hugging Face's Word::merge_all.
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const MergeValue* mv = find_merge(symbols[i].id, symbols[i + 1].id))
      queue.push({mv->rank, i, mv->new_id});
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.num_bytes == 0 || left.next == -1) continue;
    const int32_t right_pos = left.next;
    Symbol& right = symbols[right_pos];
    const MergeValue* mv = find_merge(left.id, right.id);
    if (!mv || mv->new_id != top.new_id) continue;
    left.id = top.new_id;
    left.num_bytes += right.num_bytes;
    right.num_bytes = 0;
    left.next = right.next;
    if (right.next != -1) symbols[right.next].prev = top.pos;
    if (left.prev != -1) {
      if (const MergeValue* p = find_merge(symbols[left.prev].id, left.id))
        queue.push({p->rank, left.prev, p->new_id});
    }
    if (left.next != -1) {
      if (const MergeValue* q = find_merge(left.id, symbols[left.next].id))
        queue.push({q->rank, top.pos, q->new_id});
    }
  }
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (const int32_t* id = vocab_.find(piece)) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (const int32_t* at = cache_.find(piece)) {
      const int32_t* ids = cache_ids_.data() + *at;
      out.insert(out.end(), ids + 1, ids + 1 + ids[0]);
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  initial_symbols(piece, symbols);
  merge_symbols(symbols);
  const size_t first_out = out.size();
  for (int32_t i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next)
    out.push_back(symbols[i].id);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kMaxCacheEntries) {
      cache_.clear();
      cache_ids_.clear();
    }
    if (cache_.insert(piece, static_cast<int32_t>(cache_ids_.size()))) {
      cache_ids_.push_back(static_cast<int32_t>(out.size() - first_out));
      cache_ids_.insert(cache_ids_.end(), out.begin() + first_out, out.end());
    }
  }
}

}  // namespace fathom::tokenizer
