// Detectors of sensitive data in request text: each a pure function over UTF-8 text that
// returns the matches it found (kind and byte span), never the text itself to anyone but its
// caller. A detector validates what it finds (check digits, dates, octets), so a number that
// merely looks like an ID is not one. The rules each detector applies, and why, are in
// docs/gateway.md ("Request classification").
//
// Shared rule: a digit-based match is a whole token. It must not touch another ASCII digit or
// letter on either side, so digits inside a longer digit run (an order number, a hash, a
// timestamp in milliseconds) never match. Chinese text, punctuation and spaces are boundaries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace fathom::gateway::classify {

enum class DetectorKind : uint8_t {
  kCnIdCard,  ///< mainland resident ID, 18 chars, GB 11643-1999 check character
  kCnUscc,    ///< unified social credit code, GB 32100-2015 check character
  kPassport,  ///< China E/G + 8 digits; [A-Z]{1,2}\d{6,9} near a passport keyword
  kCnMobile,  ///< 1[3-9] + 9 digits, optional +86 / 0086 prefix
  kBankCard,  ///< 13-19 digits, optionally grouped, Luhn
  kEmail,
  kIpv6,
  kIpv4,
};
// In priority order: when two matches overlap, the earlier kind keeps the bytes (an 18-digit
// run that is a valid ID is not also counted as a card).
inline constexpr int kNumDetectorKinds = 8;

/// A set of DetectorKinds, bit i = kind i.
using DetectorSet = uint32_t;
inline constexpr DetectorSet kAllDetectors = (1u << kNumDetectorKinds) - 1;
constexpr DetectorSet detector_bit(DetectorKind k) { return 1u << static_cast<unsigned>(k); }

/// The name used in config and logs: cn_id_card, cn_uscc, passport, cn_mobile, bank_card,
/// email, ipv6, ipv4.
std::string_view detector_name(DetectorKind k);
std::optional<DetectorKind> detector_from_name(std::string_view name);

struct Match {
  DetectorKind kind;
  size_t begin = 0, end = 0;  ///< byte span in the text, [begin, end)
};

// Check-digit algorithms, from the standards' definitions.
/// GB 11643-1999 (ISO 7064 MOD 11-2): the 18th character for 17 digits, '0'-'9' or 'X'.
/// Returns 0 when `first17` is not 17 ASCII digits.
char cn_id_check_char(std::string_view first17);
/// GB 32100-2015: the 18th character for 17 characters of the code's 31-character alphabet
/// (0-9 and A-Y without I, O, S, V, Z). Returns 0 when a character is outside it.
char uscc_check_char(std::string_view first17);
/// Luhn (ISO/IEC 7812-1) over ASCII digits; false for anything else or fewer than 2 digits.
bool luhn_valid(std::string_view digits);

// One function per kind; each appends its matches, in text order, to `out`.
void find_cn_id_cards(std::string_view text, std::vector<Match>& out);
void find_cn_usccs(std::string_view text, std::vector<Match>& out);
void find_passports(std::string_view text, std::vector<Match>& out);
void find_cn_mobiles(std::string_view text, std::vector<Match>& out);
void find_bank_cards(std::string_view text, std::vector<Match>& out);
void find_emails(std::string_view text, std::vector<Match>& out);
void find_ipv6(std::string_view text, std::vector<Match>& out);
void find_ipv4(std::string_view text, std::vector<Match>& out);

/// Every enabled detector over `text`; overlapping matches are resolved by kind priority (see
/// DetectorKind). Sorted by `begin`.
std::vector<Match> detect(std::string_view text, DetectorSet enabled = kAllDetectors);

}  // namespace fathom::gateway::classify
