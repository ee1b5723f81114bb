#include "gateway/classify/detectors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace fathom::gateway::classify {
namespace {

// ASCII character classes by table: the detectors look at every byte of a request, so one
// load per byte instead of a chain of comparisons.
enum : uint8_t { kDigit = 1, kUpper = 2, kLower = 4, kHex = 8, kLocal = 16, kDomain = 32 };
constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit | kHex | kLocal | kDomain;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kUpper | kLocal | kDomain;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLower | kLocal | kDomain;
  for (int c = 'A'; c <= 'F'; ++c) t[c] |= kHex;
  for (int c = 'a'; c <= 'f'; ++c) t[c] |= kHex;
  for (char c : {'.', '_', '%', '+', '-'}) t[static_cast<uint8_t>(c)] |= kLocal;
  t['-'] |= kDomain;
  return t;
}
constexpr std::array<uint8_t, 256> kClass = make_classes();

bool has(char c, uint8_t cls) { return kClass[static_cast<uint8_t>(c)] & cls; }
bool is_digit(char c) { return has(c, kDigit); }
bool is_upper(char c) { return has(c, kUpper); }
bool is_alnum(char c) { return has(c, kDigit | kUpper | kLower); }
int digit(char c) { return c - '0'; }

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c); });
}

// The first ASCII digit at or after i, or t.size(). Every digit-based detector starts here, and
// most request text is letters and CJK, so this tests 8 bytes at a time: a byte is a digit iff
// it lies in ('0' - 1, '9' + 1), computed per byte without carries between bytes ("hasbetween",
// Bit Twiddling Hacks).
size_t next_digit(std::string_view t, size_t i) {
  const size_t n = t.size();
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ull, kLow7 = kOnes * 0x7f, kHigh = kOnes * 0x80;
    for (; i + 8 <= n; i += 8) {
      uint64_t x;
      std::memcpy(&x, t.data() + i, 8);
      const uint64_t low = x & kLow7;
      const uint64_t hit =
          (kOnes * (127 + '9' + 1) - low) & ~x & (low + kOnes * (127 - ('0' - 1))) & kHigh;
      if (hit) return i + (std::countr_zero(hit) >> 3);
    }
  }
  while (i < n && !is_digit(t[i])) ++i;
  return i;
}

// A maximal run of ASCII letters and digits that holds at least one digit: the "whole token"
// every digit-based detector requires. Found once per text and shared by the five
// digit-based detectors (scanning for them was a quarter of classification time when each
// detector scanned on its own).
struct DigitToken {
  size_t begin, end;
  bool all_digits;
};
using DigitTokens = std::vector<DigitToken>;

DigitTokens digit_tokens(std::string_view t) {
  DigitTokens out;
  const size_t n = t.size();
  for (size_t i = next_digit(t, 0); i < n; i = next_digit(t, i)) {
    size_t b = i, e = i + 1;
    while (b > 0 && is_alnum(t[b - 1])) --b;  // never before the previous token's end
    while (e < n && is_alnum(t[e])) ++e;
    out.push_back({b, e, all_digits(t.substr(b, e - b))});
    i = e;
  }
  return out;
}

// Digit groups joined by one separator, as people write card and phone numbers
// ("6222 0212 3456 7890", "138-1234-5678").
struct Chain {
  static constexpr int kMaxGroups = 8;
  size_t begin = 0, end = 0;
  int num_groups = 0;  // may exceed kMaxGroups; only the first kMaxGroups are recorded
  // Left uninitialised on purpose: zeroing them for every digit token was a third of the
  // detectors' time (a `rep stos` per token); only [0, min(num_groups, kMaxGroups)) is read.
  std::array<size_t, kMaxGroups> group_begin, group_len;
  size_t num_digits = 0;
};

// Calls fn(chain) for each maximal chain of all-digit tokens joined by a single ' ' or '-'
// (the same one throughout). A lone all-digit token is a chain of one group.
template <typename Fn>
void for_each_digit_chain(std::string_view t, const DigitTokens& tokens, Fn&& fn) {
  const size_t n = t.size();
  auto digit_token_end = [&](size_t i) {  // end of the token at i if it is all digits, else 0
    size_t j = i;
    while (j < n && is_digit(t[j])) ++j;
    return (j < n && is_alnum(t[j])) ? 0 : j;
  };
  size_t covered = 0;  // the end of the last chain: its tokens are not chains of their own
  for (const auto& [b, e, only_digits] : tokens) {
    if (b < covered || !only_digits) continue;
    Chain c;
    c.begin = b;
    char sep = 0;
    for (size_t gb = b, ge = e;;) {
      if (c.num_groups < Chain::kMaxGroups) {
        c.group_begin[c.num_groups] = gb;
        c.group_len[c.num_groups] = ge - gb;
      }
      ++c.num_groups;
      c.num_digits += ge - gb;
      c.end = ge;
      if (ge + 1 >= n || !is_digit(t[ge + 1])) break;
      if (!(t[ge] == ' ' || t[ge] == '-') || (sep != 0 && t[ge] != sep)) break;
      const size_t next_end = digit_token_end(ge + 1);
      if (next_end == 0) break;
      sep = t[ge];
      gb = ge + 1;
      ge = next_end;
    }
    covered = c.end;
    fn(c);
  }
}

// ---- mainland resident ID (GB 11643-1999) ----

bool plausible_province(int code) {
  // Provinces and municipalities by their first two digits; 71/81/82/83 appear on residence
  // permits of Taiwan, Hong Kong and Macau residents; 9x on foreigners' 2023 permanent
  // residence cards.
  return (code >= 11 && code <= 15) || (code >= 21 && code <= 23) || (code >= 31 && code <= 37) ||
         (code >= 41 && code <= 46) || (code >= 50 && code <= 54) || (code >= 61 && code <= 65) ||
         code == 71 || code == 81 || code == 82 || code == 83 || code >= 91;
}

bool plausible_date(std::string_view yyyymmdd) {
  int v[8];
  for (int i = 0; i < 8; ++i) v[i] = digit(yyyymmdd[i]);
  const int year = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
  const int month = v[4] * 10 + v[5], day = v[6] * 10 + v[7];
  if (year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29) return leap;
  return day <= kDays[month - 1];
}

bool valid_cn_id(std::string_view s) {
  if (s.size() != 18 || !all_digits(s.substr(0, 17))) return false;
  if (!plausible_province(digit(s[0]) * 10 + digit(s[1])) || !plausible_date(s.substr(6, 8)))
    return false;
  const char last = s[17] == 'x' ? 'X' : s[17];
  return cn_id_check_char(s.substr(0, 17)) == last;
}

// ---- unified social credit code (GB 32100-2015) ----

constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";  // 31: no I O S V Z
constexpr std::array<int8_t, 256> make_uscc_values() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kUsccAlphabet.size(); ++i) t[static_cast<uint8_t>(kUsccAlphabet[i])] = i;
  return t;
}
constexpr std::array<int8_t, 256> kUsccValue = make_uscc_values();

bool valid_uscc(std::string_view s) {
  if (s.size() != 18) return false;
  // Character 1 is the registering authority (1-9, A, N, Y); 3-8 the administrative division.
  if (std::string_view("123456789ANY").find(s[0]) == std::string_view::npos) return false;
  if (!all_digits(s.substr(2, 6))) return false;
  return uscc_check_char(s.substr(0, 17)) == s[17];
}

// ---- passport ----

// The keywords that make a short letters-and-digits token a passport number, and how close
// they must be (bytes between the keyword and the number, either side): enough for a label
// such as "Passport No.: " or "护照号码：".
constexpr size_t kPassportKeywordReach = 48;

bool ieq_ascii(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((has(a[i], kUpper) ? a[i] - 'A' + 'a' : a[i]) != lower[i]) return false;
  return true;
}

// Byte offsets [begin, end) of every passport keyword in t.
std::vector<std::pair<size_t, size_t>> passport_keywords(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i + 6 <= t.size(); ++i) {
    const char c = t[i];
    if ((c == 'p' || c == 'P') && i + 8 <= t.size() && ieq_ascii(t.substr(i, 8), "passport")) {
      out.emplace_back(i, i + 8);
    } else if (static_cast<uint8_t>(c) >= 0xe4) {
      const std::string_view s = t.substr(i, 6);
      if (s == "护照" || s == "護照") out.emplace_back(i, i + 6);
    }
  }
  return out;
}

// China's ordinary passports: E or G and 8 digits (a keyword is not needed).
bool cn_passport(std::string_view s) {
  return s.size() == 9 && (s[0] == 'E' || s[0] == 'G') && all_digits(s.substr(1));
}

// The common shape [A-Z]{1,2}\d{6,9} (China's newer EA1234567 among others).
bool passport_shape(std::string_view s) {
  size_t letters = 0;
  while (letters < s.size() && letters < 2 && is_upper(s[letters])) ++letters;
  const size_t digits = s.size() - letters;
  return letters >= 1 && digits >= 6 && digits <= 9 && all_digits(s.substr(letters));
}

// ---- mobile numbers ----

bool mobile_digits(std::string_view s) {
  return s.size() == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && all_digits(s);
}

// The start of a "+86" or "0086" prefix written before `b` with one ' ' or '-' between, or
// `b` when there is none.
size_t prefix_start(std::string_view t, size_t b) {
  if (b < 2 || !(t[b - 1] == ' ' || t[b - 1] == '-')) return b;
  const std::string_view before = t.substr(0, b - 1);
  if (before.ends_with("+86")) return b - 4;
  if (before.ends_with("0086") && (before.size() == 4 || !is_alnum(before[before.size() - 5])))
    return b - 5;
  return b;
}

// ---- IP addresses ----

// Dotted-quad octets; nullopt unless exactly four decimal octets 0-255 without leading zeros
// (a leading zero reads as octal to some parsers: not an address anyone wrote on purpose).
std::optional<std::array<int, 4>> parse_ipv4(std::string_view s) {
  std::array<int, 4> o{};
  size_t i = 0;
  for (int k = 0; k < 4; ++k) {
    if (k > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    const size_t start = i;
    int v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + digit(s[i++]);
    if (i == start || (i - start > 1 && s[start] == '0') || v > 255) return std::nullopt;
    o[k] = v;
  }
  if (i != s.size()) return std::nullopt;
  return o;
}

// Addresses that identify no one's machine: "this network" 0/8, loopback 127/8, link-local
// 169.254/16, multicast 224/4, reserved 240/4 (with broadcast and netmasks such as
// 255.255.255.0), and the documentation ranges of RFC 5737. Private ranges (10/8, 172.16/12,
// 192.168/16, 100.64/10) do count: they map the premises' own network.
bool ipv4_counts(const std::array<int, 4>& o) {
  if (o[0] == 0 || o[0] == 127 || o[0] >= 224) return false;
  if (o[0] == 169 && o[1] == 254) return false;
  if (o[0] == 192 && o[1] == 0 && o[2] == 2) return false;
  if (o[0] == 198 && o[1] == 51 && o[2] == 100) return false;
  if (o[0] == 203 && o[1] == 0 && o[2] == 113) return false;
  return true;
}

struct Ipv6 {
  std::array<uint16_t, 8> g{};
  int explicit_groups = 0;  // 16-bit groups written out (an IPv4 tail is two)
  bool compressed = false;
};

std::optional<Ipv6> parse_ipv6(std::string_view s) {
  std::array<uint16_t, 8> head{}, tail{};
  int nh = 0, nt = 0;
  bool dc = false;
  size_t i = 0;
  const size_t n = s.size();
  if (n < 2) return std::nullopt;
  if (s[0] == ':') {
    if (s[1] != ':') return std::nullopt;
    dc = true;
    i = 2;
  }
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != ':') ++j;
    const std::string_view piece = s.substr(i, j - i);
    auto push = [&](uint16_t v) {
      if (nh + nt >= 8) return false;
      (dc ? tail[nt++] : head[nh++]) = v;
      return true;
    };
    if (piece.find('.') != std::string_view::npos) {  // an IPv4 tail, only at the end
      auto v4 = parse_ipv4(piece);
      if (!v4 || j != n) return std::nullopt;
      if (!push(static_cast<uint16_t>((*v4)[0] << 8 | (*v4)[1])) ||
          !push(static_cast<uint16_t>((*v4)[2] << 8 | (*v4)[3])))
        return std::nullopt;
    } else {
      if (piece.empty() || piece.size() > 4) return std::nullopt;
      unsigned v = 0;
      for (char c : piece) {
        if (!has(c, kHex)) return std::nullopt;
        v = v * 16 + static_cast<unsigned>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
      }
      if (!push(static_cast<uint16_t>(v))) return std::nullopt;
    }
    if (j == n) break;
    if (j + 1 < n && s[j + 1] == ':') {
      if (dc) return std::nullopt;
      dc = true;
      i = j + 2;
    } else {
      i = j + 1;
      if (i == n) return std::nullopt;  // a trailing single colon
    }
  }
  Ipv6 a;
  a.explicit_groups = nh + nt;
  a.compressed = dc;
  if (dc ? nh + nt > 7 : nh + nt != 8) return std::nullopt;
  for (int k = 0; k < nh; ++k) a.g[k] = head[k];
  for (int k = 0; k < nt; ++k) a.g[8 - nt + k] = tail[k];
  return a;
}

// Not counted: unspecified ::, loopback ::1, link-local fe80::/10, multicast ff00::/8, the
// documentation prefix 2001:db8::/32, and IPv4-mapped addresses of uncounted IPv4 ones. Unique
// local addresses (fc00::/7) count, as private IPv4 ranges do.
bool ipv6_counts(const Ipv6& a) {
  const auto& g = a.g;
  if (std::all_of(g.begin(), g.begin() + 7, [](uint16_t v) { return v == 0; }) && g[7] <= 1)
    return false;
  if ((g[0] & 0xffc0) == 0xfe80 || (g[0] & 0xff00) == 0xff00) return false;
  if (g[0] == 0x2001 && g[1] == 0x0db8) return false;
  if (std::all_of(g.begin(), g.begin() + 5, [](uint16_t v) { return v == 0; }) && g[5] == 0xffff)
    return ipv4_counts({g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff});
  // A compressed form with fewer than three groups written ("a::b", "dead::beef") is more
  // often C++ or prose than an address.
  return !a.compressed || a.explicit_groups >= 3;
}

void cn_id_cards(std::string_view text, const DigitTokens& tokens, std::vector<Match>& out) {
  for (const auto& [b, e, only_digits] : tokens)
    if (e - b == 18 && valid_cn_id(text.substr(b, 18)))
      out.push_back({DetectorKind::kCnIdCard, b, e});
}

void cn_usccs(std::string_view text, const DigitTokens& tokens, std::vector<Match>& out) {
  for (const auto& [b, e, only_digits] : tokens)
    if (e - b == 18 && valid_uscc(text.substr(b, 18))) out.push_back({DetectorKind::kCnUscc, b, e});
}

void passports(std::string_view text, const DigitTokens& tokens, std::vector<Match>& out) {
  std::optional<std::vector<std::pair<size_t, size_t>>> keywords;  // found on first need
  for (const auto& [b, e, only_digits] : tokens) {
    const std::string_view s = text.substr(b, e - b);
    if (s.size() < 7 || s.size() > 11 || !is_upper(s[0])) continue;
    if (cn_passport(s)) {
      out.push_back({DetectorKind::kPassport, b, e});
      continue;
    }
    if (!passport_shape(s)) continue;
    if (!keywords) keywords = passport_keywords(text);
    for (const auto& [kb, ke] : *keywords) {
      const bool near = (ke <= b && b - ke <= kPassportKeywordReach) ||
                        (kb >= e && kb - e <= kPassportKeywordReach);
      if (near) {
        out.push_back({DetectorKind::kPassport, b, e});
        break;
      }
    }
  }
}

void cn_mobiles(std::string_view text, const DigitTokens& tokens, std::vector<Match>& out) {
  for_each_digit_chain(text, tokens, [&](const Chain& c) {
    // The grouped form 3-4-4, alone or after a +86 / 0086 group.
    if (c.num_groups >= 3 && c.num_groups <= 4) {
      const int first = c.num_groups - 3;
      const size_t b = c.group_begin[first];
      if (c.group_len[first] == 3 && c.group_len[first + 1] == 4 && c.group_len[first + 2] == 4) {
        std::string_view d1 = text.substr(b, 3);
        const bool prefix_ok = first == 0 ||
                               (c.group_len[0] == 2 && c.begin > 0 && text[c.begin - 1] == '+' &&
                                text.substr(c.begin, 2) == "86") ||
                               (c.group_len[0] == 4 && text.substr(c.begin, 4) == "0086");
        if (prefix_ok && d1[0] == '1' && d1[1] >= '3' && d1[1] <= '9') {
          const size_t begin = first == 0            ? prefix_start(text, c.begin)
                               : c.group_len[0] == 2 ? c.begin - 1  // the '+' of +86
                                                     : c.begin;
          out.push_back({DetectorKind::kCnMobile, begin, c.end});
          return;
        }
      }
    }
    // Each group written as one run: 11 digits, or 86 + 11 after a '+', or 0086 + 11.
    for (int g = 0; g < std::min(c.num_groups, Chain::kMaxGroups); ++g) {
      const size_t b = c.group_begin[g], len = c.group_len[g];
      const std::string_view s = text.substr(b, len);
      if (len == 11 && mobile_digits(s)) {
        out.push_back({DetectorKind::kCnMobile, prefix_start(text, b), b + len});
      } else if (len == 13 && b > 0 && text[b - 1] == '+' && s.starts_with("86") &&
                 mobile_digits(s.substr(2))) {
        out.push_back({DetectorKind::kCnMobile, b - 1, b + len});
      } else if (len == 15 && s.starts_with("0086") && mobile_digits(s.substr(4))) {
        out.push_back({DetectorKind::kCnMobile, b, b + len});
      }
    }
  });
}

void bank_cards(std::string_view text, const DigitTokens& tokens, std::vector<Match>& out) {
  auto plausible = [](std::string_view digits) {
    // A card number never starts with 0 (its first digit is the industry), and a run of one
    // repeated digit (0000..., 4444...) is a placeholder, not a card.
    return digits.size() >= 13 && digits.size() <= 19 && digits[0] != '0' &&
           digits.find_first_not_of(digits[0]) != std::string_view::npos && luhn_valid(digits);
  };
  for_each_digit_chain(text, tokens, [&](const Chain& c) {
    if (c.num_groups >= 2 && c.num_groups <= Chain::kMaxGroups && c.num_digits >= 13 &&
        c.num_digits <= 19) {
      // Grouped as printed on cards: fours with a shorter last group (4-4-4-4, 4-4-4-4-3), or
      // 4-6-5 / 4-6-4 (American Express, Diners Club).
      bool fours = true;
      for (int g = 0; g < c.num_groups; ++g) {
        const size_t len = c.group_len[g];
        if (g + 1 < c.num_groups ? len != 4 : (len < 1 || len > 4)) fours = false;
      }
      const bool amex = c.num_groups == 3 && c.group_len[0] == 4 && c.group_len[1] == 6 &&
                        (c.group_len[2] == 4 || c.group_len[2] == 5);
      if (fours || amex) {
        char digits[19];
        size_t n = 0;
        for (int g = 0; g < c.num_groups; ++g)
          for (size_t k = 0; k < c.group_len[g]; ++k) digits[n++] = text[c.group_begin[g] + k];
        if (plausible(std::string_view(digits, n)))
          out.push_back({DetectorKind::kBankCard, c.begin, c.end});
        return;
      }
    }
    for (int g = 0; g < std::min(c.num_groups, Chain::kMaxGroups); ++g) {
      const size_t b = c.group_begin[g], len = c.group_len[g];
      if (plausible(text.substr(b, len))) out.push_back({DetectorKind::kBankCard, b, b + len});
    }
  });
}

}  // namespace

std::string_view detector_name(DetectorKind k) {
  switch (k) {
    case DetectorKind::kCnIdCard:
      return "cn_id_card";
    case DetectorKind::kCnUscc:
      return "cn_uscc";
    case DetectorKind::kPassport:
      return "passport";
    case DetectorKind::kCnMobile:
      return "cn_mobile";
    case DetectorKind::kBankCard:
      return "bank_card";
    case DetectorKind::kEmail:
      return "email";
    case DetectorKind::kIpv6:
      return "ipv6";
    case DetectorKind::kIpv4:
      return "ipv4";
  }
  return "unknown";
}

std::optional<DetectorKind> detector_from_name(std::string_view name) {
  for (int i = 0; i < kNumDetectorKinds; ++i)
    if (detector_name(static_cast<DetectorKind>(i)) == name) return static_cast<DetectorKind>(i);
  return std::nullopt;
}

char cn_id_check_char(std::string_view first17) {
  if (first17.size() != 17 || !all_digits(first17)) return 0;
  // ISO 7064 MOD 11-2: weight of position i (counted from the right, the check character
  // being position 1) is 2^(i-1) mod 11, and the full sum must be 1 mod 11.
  int sum = 0, weight = 1;
  for (int i = 16; i >= 0; --i) {
    weight = weight * 2 % 11;
    sum += digit(first17[i]) * weight;
  }
  const int check = (12 - sum % 11) % 11;
  return check == 10 ? 'X' : static_cast<char>('0' + check);
}

char uscc_check_char(std::string_view first17) {
  if (first17.size() != 17) return 0;
  // GB 32100-2015: C18 = 31 - (sum of Ci * Wi) mod 31, Wi = 3^(i-1) mod 31; 31 is written 0.
  int sum = 0, weight = 1;
  for (char c : first17) {
    const int v = kUsccValue[static_cast<uint8_t>(c)];
    if (v < 0) return 0;
    sum += v * weight;
    weight = weight * 3 % 31;
  }
  return kUsccAlphabet[(31 - sum % 31) % 31];
}

bool luhn_valid(std::string_view digits) {
  if (digits.size() < 2 || !all_digits(digits)) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digit(digits[i]);
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

void find_cn_id_cards(std::string_view text, std::vector<Match>& out) {
  cn_id_cards(text, digit_tokens(text), out);
}
void find_cn_usccs(std::string_view text, std::vector<Match>& out) {
  cn_usccs(text, digit_tokens(text), out);
}
void find_passports(std::string_view text, std::vector<Match>& out) {
  passports(text, digit_tokens(text), out);
}
void find_cn_mobiles(std::string_view text, std::vector<Match>& out) {
  cn_mobiles(text, digit_tokens(text), out);
}
void find_bank_cards(std::string_view text, std::vector<Match>& out) {
  bank_cards(text, digit_tokens(text), out);
}

void find_emails(std::string_view text, std::vector<Match>& out) {
  const size_t n = text.size();
  for (size_t at = 0;; ++at) {
    const void* p = at < n ? std::memchr(text.data() + at, '@', n - at) : nullptr;
    if (!p) return;
    at = static_cast<const char*>(p) - text.data();
    // Local part: dot-atom letters, digits and . _ % + -, 1..64 bytes, no leading, trailing
    // or double dot.
    size_t l = at;
    while (l > 0 && at - l <= 64 && has(text[l - 1], kLocal)) --l;
    if (l > 0 && has(text[l - 1], kLocal)) continue;  // longer than 64: not a whole token
    while (l < at && text[l] == '.') ++l;
    if (l == at) continue;
    const std::string_view local = text.substr(l, at - l);
    if (local.back() == '.' || local.find("..") != std::string_view::npos) continue;
    // Domain: labels of letters, digits and '-' (not at either end), at least two, the last
    // alphabetic and 2+ letters; a sentence's full stop after it is not part of it.
    size_t r = at + 1, labels = 0, last_label = r;
    bool ok = true;
    while (r < n && r - at <= 254) {
      const size_t lb = r;
      while (r < n && has(text[r], kDomain)) ++r;
      if (r == lb || r - lb > 63 || text[lb] == '-' || text[r - 1] == '-') {
        ok = false;
        break;
      }
      ++labels;
      last_label = lb;
      if (r + 1 < n && text[r] == '.' && has(text[r + 1], kDomain)) {
        ++r;
        continue;
      }
      break;
    }
    if (!ok || labels < 2 || r - last_label < 2) continue;
    const std::string_view tld = text.substr(last_label, r - last_label);
    if (!std::all_of(tld.begin(), tld.end(), [](char c) { return has(c, kUpper | kLower); }))
      continue;
    if (r < n && (text[r] == '_' || text[r] == '@')) continue;
    out.push_back({DetectorKind::kEmail, l, r});
    at = r - 1;
  }
}

void find_ipv4(std::string_view text, std::vector<Match>& out) {
  const size_t n = text.size();
  size_t resume = 0;  // addresses never overlap: skip past the last one found
  for (size_t dot = 0;; ++dot) {
    const void* p = dot < n ? std::memchr(text.data() + dot, '.', n - dot) : nullptr;
    if (!p) return;
    dot = static_cast<const char*>(p) - text.data();
    if (dot < resume) continue;
    size_t s = dot;
    while (s > 0 && is_digit(text[s - 1]) && dot - s < 4) --s;
    if (s == dot || dot - s > 3) continue;
    if (s > 0 && (is_alnum(text[s - 1]) || text[s - 1] == '.')) continue;  // v1.2.3.4, 1.2.3.4.5
    size_t e = s;
    for (int dots = 0; e < n && e - s < 15; ++e) {
      if (text[e] == '.') {
        if (++dots == 4) break;
      } else if (!is_digit(text[e])) {
        break;
      }
    }
    if (e < n && (is_alnum(text[e]) || (text[e] == '.' && e + 1 < n && is_digit(text[e + 1]))))
      continue;
    auto octets = parse_ipv4(text.substr(s, e - s));
    if (!octets) continue;
    if (ipv4_counts(*octets)) out.push_back({DetectorKind::kIpv4, s, e});
    resume = e;
  }
}

void find_ipv6(std::string_view text, std::vector<Match>& out) {
  const size_t n = text.size();
  auto in_run = [&](char c) { return has(c, kHex) || c == ':' || c == '.'; };
  size_t from = 0;
  while (from < n) {
    const void* p = std::memchr(text.data() + from, ':', n - from);
    if (!p) return;
    const size_t colon = static_cast<const char*>(p) - text.data();
    size_t s = colon, e = colon;
    while (s > from && in_run(text[s - 1])) --s;
    while (e < n && in_run(text[e])) ++e;
    from = e;
    auto word = [&](char c) { return is_alnum(c) || c == '_'; };
    // A single colon before or after the address separates it from a word ("ip:2001:db8::1",
    // "at 2001:db8::1: ..."), as a full stop after it ends a sentence; otherwise the run's
    // neighbours must not continue a word ("std::map", "Foo::Bar").
    size_t b = s;
    if (e - b >= 2 && text[b] == ':' && text[b + 1] != ':')
      ++b;
    else if (b > 0 && word(text[b - 1]))
      continue;
    const size_t run_end = e;
    while (e > b && text[e - 1] == '.') --e;
    if (e - b >= 2 && text[e - 1] == ':' && text[e - 2] != ':') --e;
    if (e == run_end && e < n && word(text[e])) continue;
    if (e - b < 2 || e - b > 45) continue;
    auto addr = parse_ipv6(text.substr(b, e - b));
    if (addr && ipv6_counts(*addr)) out.push_back({DetectorKind::kIpv6, b, e});
  }
}

std::vector<Match> detect(std::string_view text, DetectorSet enabled) {
  using TokenFinder = void (*)(std::string_view, const DigitTokens&, std::vector<Match>&);
  using Finder = void (*)(std::string_view, std::vector<Match>&);
  static constexpr TokenFinder kTokenFinders[] = {cn_id_cards, cn_usccs, passports, cn_mobiles,
                                                  bank_cards};
  static constexpr Finder kFinders[] = {find_emails, find_ipv6, find_ipv4};
  constexpr int kNumTokenFinders = std::size(kTokenFinders);
  static_assert(kNumTokenFinders + std::size(kFinders) == kNumDetectorKinds);
  const DigitTokens tokens =
      enabled & ((1u << kNumTokenFinders) - 1) ? digit_tokens(text) : DigitTokens{};
  std::vector<Match> kept, found, merged;
  for (int k = 0; k < kNumDetectorKinds; ++k) {
    if (!(enabled & (1u << k))) continue;
    found.clear();
    if (k < kNumTokenFinders)
      kTokenFinders[k](text, tokens, found);
    else
      kFinders[k - kNumTokenFinders](text, found);
    if (found.empty()) continue;
    std::sort(found.begin(), found.end(),
              [](const Match& a, const Match& b) { return a.begin < b.begin; });
    // Merge into `kept` (sorted, disjoint): a match overlapping a kept one, or an earlier
    // match of its own kind, loses.
    merged.clear();
    size_t i = 0;
    for (const Match& m : found) {
      while (i < kept.size() && kept[i].end <= m.begin) merged.push_back(kept[i++]);
      const bool overlaps_kept = i < kept.size() && kept[i].begin < m.end;
      const bool overlaps_own = !merged.empty() && merged.back().end > m.begin;
      if (!overlaps_kept && !overlaps_own) merged.push_back(m);
    }
    while (i < kept.size()) merged.push_back(kept[i++]);
    kept.swap(merged);
  }
  return kept;
}

}  // namespace fathom::gateway::classify
