#include "grammar/char_class.h"

#include <algorithm>

namespace fathom::grammar {
namespace {

constexpr uint32_t kSurrogateLo = 0xD800, kSurrogateHi = 0xDFFF;

std::string utf8(uint32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

bool json_escaped(uint32_t c) { return c < 0x20 || c == '"' || c == '\\'; }

// Splits [lo, hi] (one UTF-8 length, no surrogates) into pieces whose encodings are a
// sequence of byte ranges, the way RE2 and Go's utf8 ranges do.
void utf8_pieces(uint32_t lo, uint32_t hi,
                 std::vector<std::vector<std::pair<uint8_t, uint8_t>>>& out) {
  const size_t len = utf8(lo).size();
  for (size_t i = 1; i < len; ++i) {
    const uint32_t m = (uint32_t{1} << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        utf8_pieces(lo, lo | m, out);
        utf8_pieces((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        utf8_pieces(lo, (hi & ~m) - 1, out);
        utf8_pieces(hi & ~m, hi, out);
        return;
      }
    }
  }
  const std::string a = utf8(lo), z = utf8(hi);
  std::vector<std::pair<uint8_t, uint8_t>> piece;
  for (size_t i = 0; i < a.size(); ++i)
    piece.emplace_back(static_cast<uint8_t>(a[i]), static_cast<uint8_t>(z[i]));
  out.push_back(std::move(piece));
}

}  // namespace

CharClass CharClass::any() {
  CharClass s;
  s.add(0, kMaxCodePoint);
  return s;
}

void CharClass::add(uint32_t lo, uint32_t hi) {
  hi = std::min(hi, kMaxCodePoint);
  if (lo > hi) return;
  // Surrogates are not characters; keep them out.
  if (lo <= kSurrogateHi && hi >= kSurrogateLo) {
    if (lo < kSurrogateLo) ranges_.emplace_back(lo, kSurrogateLo - 1);
    if (hi > kSurrogateHi) ranges_.emplace_back(kSurrogateHi + 1, hi);
  } else {
    ranges_.emplace_back(lo, hi);
  }
  normalize();
}

void CharClass::add(const CharClass& o) {
  ranges_.insert(ranges_.end(), o.ranges_.begin(), o.ranges_.end());
  normalize();
}

void CharClass::normalize() {
  std::sort(ranges_.begin(), ranges_.end());
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& r : ranges_) {
    if (!merged.empty() && r.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  ranges_ = std::move(merged);
}

CharClass CharClass::complement() const {
  CharClass out;
  uint32_t next = 0;
  for (const auto& [lo, hi] : ranges_) {
    if (lo > next) out.add(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.add(next, kMaxCodePoint);
  return out;
}

std::string encode_char(uint32_t c, TextContext ctx) {
  if (ctx == TextContext::kRaw || !json_escaped(c)) return utf8(c);
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      return buf;
    }
  }
}

Sequence char_symbols(GrammarBuilder& b, const CharClass& set, TextContext ctx,
                      const std::string& name) {
  ByteSet single;  // one-byte characters written as themselves
  std::vector<Sequence> alts;
  std::vector<std::vector<std::pair<uint8_t, uint8_t>>> pieces;
  for (auto [lo, hi] : set.ranges()) {
    for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 0x7F); ++c) {
      if (ctx == TextContext::kJsonString && json_escaped(c))
        alts.push_back(b.literal(encode_char(c, ctx)));
      else
        single.add(static_cast<uint8_t>(c));
    }
    // Multi-byte characters, split by encoded length.
    for (auto [a, z] : {std::pair<uint32_t, uint32_t>{0x80, 0x7FF},
                        {0x800, 0xFFFF},
                        {0x10000, CharClass::kMaxCodePoint}}) {
      const uint32_t from = std::max(lo, a), to = std::min(hi, z);
      if (from <= to) utf8_pieces(from, to, pieces);
    }
  }
  for (const auto& piece : pieces) {
    Sequence seq;
    for (auto [x, y] : piece) seq.push_back(b.bytes(ByteSet::range(x, y)));
    alts.push_back(std::move(seq));
  }
  if (!single.empty()) {
    if (alts.empty()) return {b.bytes(single)};
    alts.push_back({b.bytes(single)});
  }
  return {GrammarBuilder::ref(b.rule(name, std::move(alts)))};
}

}  // namespace fathom::grammar
