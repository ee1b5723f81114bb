#include "tokenizer/added_tokens.h"

#include <unicode/uchar.h>

#include <nlohmann/json.hpp>

#include "tokenizer/unicode.h"

namespace fathom::tokenizer {

namespace {

// Rust's "word character" for single_word: alphanumeric or '_'.
bool is_word_char(char32_t cp) {
  if (cp == '_') return true;
  return u_isalnum(static_cast<UChar32>(cp)) != 0 ||
         u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_ALPHABETIC);
}

// The character that ends just before `pos`.
char32_t char_before(std::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  return decode_utf8(text, start).code_point;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens,
                                     std::vector<std::string> patterns)
    : tokens_(std::move(tokens)) {
  trie_.push_back(Node{});
  first_byte_.fill(false);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string& pat = patterns[i];
    if (pat.empty()) continue;
    first_byte_[static_cast<uint8_t>(pat[0])] = true;
    int32_t node = 0;
    for (char c : pat) {
      const auto b = static_cast<uint8_t>(c);
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(trie_.size());
        Node n;
        n.byte = b;
        n.next_sibling = trie_[node].first_child;
        trie_.push_back(n);
        trie_[node].first_child = next;
      }
      node = next;
    }
    // A duplicate content keeps the first token (the lowest id in tokenizer.json order).
    if (trie_[node].token_idx < 0) trie_[node].token_idx = static_cast<int32_t>(i);
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
  for (int32_t c = trie_[node].first_child; c >= 0; c = trie_[c].next_sibling)
    if (trie_[c].byte == b) return c;
  return -1;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<AddedSplit>& out) const {
  size_t start_offset = 0;  // end of the previous token
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    // Longest pattern starting at pos.
    int32_t node = 0;
    int32_t best_idx = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      node = child(node, static_cast<uint8_t>(text[i]));
      if (node < 0) break;
      if (trie_[node].token_idx >= 0) {
        best_idx = trie_[node].token_idx;
        best_end = i + 1;
      }
    }
    if (best_idx < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[best_idx];
    size_t start = pos;
    size_t stop = best_end;
    if (tok.single_word) {
      const bool start_space = start == 0 || !is_word_char(char_before(text, start));
      const bool stop_space =
          stop == text.size() || !is_word_char(decode_utf8(text, stop).code_point);
      if (!start_space || !stop_space) {
        // Not a match here; Aho-Corasick would continue after this match.
        pos = best_end;
        continue;
      }
    }
    if (tok.lstrip) {
      size_t new_start = start;
      while (new_start > start_offset) {
        size_t prev = new_start - 1;
        while (prev > 0 && (static_cast<uint8_t>(text[prev]) & 0xC0) == 0x80) --prev;
        if (!is_unicode_whitespace(decode_utf8(text, prev).code_point)) break;
        new_start = prev;
      }
      start = new_start;
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        const Utf8Char c = decode_utf8(text, stop);
        if (!is_unicode_whitespace(c.code_point)) break;
        stop += c.num_bytes;
      }
    }
    if (start > start_offset) out.push_back({text.substr(start_offset, start - start_offset), -1});
    out.push_back({text.substr(start, stop - start), tok.id});
    start_offset = stop;
    pos = stop;
  }
  if (start_offset < text.size() || text.empty()) out.push_back({text.substr(start_offset), -1});
}

Result<std::vector<AddedToken>> parse_added_tokens(const nlohmann::json& list) {
  std::vector<AddedToken> out;
  if (list.is_null()) return out;
  if (!list.is_array()) return invalid_argument("added_tokens: expected an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& t = list[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
        !t.contains("content") || !t["content"].is_string()) {
      return invalid_argument(where + ": needs an integer \"id\" and a string \"content\"");
    }
    AddedToken tok;
    tok.id = static_cast<int32_t>(t["id"].get<int64_t>());
    if (tok.id < 0) return invalid_argument(where + ": negative id");
    tok.content = t["content"].get<std::string>();
    if (tok.content.empty()) return invalid_argument(where + ": empty content");
    tok.special = t.value("special", false);
    tok.lstrip = t.value("lstrip", false);
    tok.rstrip = t.value("rstrip", false);
    tok.single_word = t.value("single_word", false);
    tok.normalized = t.value("normalized", !tok.special);
    out.push_back(std::move(tok));
  }
  return out;
}

}  // namespace fathom::tokenizer
