#include "tokenizer/unicode.h"

#include <cstring>

namespace fathom::tokenizer {

namespace {

// Expected length and the valid range of the second byte for a lead byte (Unicode Table 3-7).
struct LeadInfo {
  int length;  // 0: never valid as a lead byte
  uint8_t second_lo;
  uint8_t second_hi;
};

inline LeadInfo lead_info(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

Utf8Char decode_utf8(std::string_view text, size_t pos) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  if (b0 < 0x80) return {b0, 1, true};
  const LeadInfo info = lead_info(b0);
  if (info.length == 0) return {kReplacementChar, 1, false};
  char32_t cp = b0 & (0xFF >> (info.length + 1));
  for (int k = 1; k < info.length; ++k) {
    if (pos + k >= text.size()) return {kReplacementChar, k, false};
    const auto b = static_cast<uint8_t>(text[pos + k]);
    const uint8_t lo = k == 1 ? info.second_lo : 0x80;
    const uint8_t hi = k == 1 ? info.second_hi : 0xBF;
    if (b < lo || b > hi) return {kReplacementChar, k, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, info.length, true};
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t b0 = p[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    const LeadInfo info = lead_info(b0);
    if (info.length == 0 || i + info.length > n) return false;
    if (p[i + 1] < info.second_lo || p[i + 1] > info.second_hi) return false;
    for (int k = 2; k < info.length; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += info.length;
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (static_cast<uint8_t>(bytes[pos]) < 0x80) {
      out.push_back(bytes[pos++]);
      continue;
    }
    const Utf8Char c = decode_utf8(bytes, pos);
    if (c.valid) {
      out.append(bytes.substr(pos, c.num_bytes));
    } else {
      append_utf8(out, kReplacementChar);
    }
    pos += c.num_bytes;
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view bytes) {
  // Only the last three bytes can start an unfinished character.
  const size_t n = bytes.size();
  const size_t first = n >= 3 ? n - 3 : 0;
  for (size_t start = first; start < n; ++start) {
    const auto b = static_cast<uint8_t>(bytes[start]);
    if (b < 0xC0) continue;  // ASCII or a continuation byte
    const Utf8Char c = decode_utf8(bytes, start);
    // Incomplete: invalid only because the input ended, not because of a bad byte.
    if (!c.valid && start + c.num_bytes == n && lead_info(b).length > 0) return start;
  }
  return n;
}

bool is_unicode_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

}  // namespace fathom::tokenizer
