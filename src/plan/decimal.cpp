#include "plan/decimal.h"

#include <algorithm>
#include <cstdlib>

namespace fathom::plan {
namespace {

// Beyond this an amount is not a plausible price or total (1e18 units); keeps every product of
// two amounts inside 128 bits.
constexpr Int128 kMaxNanos = Int128(1'000'000'000'000'000'000) * Decimal::kScale;

std::string int128_digits(Int128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

}  // namespace

Int128 div_round(Int128 n, Int128 d) {
  const Int128 q = n / d, r = n % d;
  if (2 * (r < 0 ? -r : r) >= d) return n < 0 ? q - 1 : q + 1;
  return q;
}

Result<Decimal> Decimal::parse(const std::string& text, const std::string& field) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument(field + ": '" + text + "' is not a decimal number (" + why + ")");
  };
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
  Int128 units = 0, frac = 0;
  int int_digits = 0, frac_digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++int_digits) {
    units = units * 10 + (text[i] - '0');
    if (units > kMaxNanos / kScale) return bad("too large");
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits == 9) return bad("more than 9 decimals");
      frac = frac * 10 + (text[i] - '0');
    }
    if (frac_digits == 0) return bad("no digits after the point");
  }
  if (i != text.size()) return bad("unexpected '" + std::string(1, text[i]) + "'");
  if (int_digits == 0) return bad("no digits before the point");
  for (int k = frac_digits; k < 9; ++k) frac *= 10;
  const Int128 nanos = units * kScale + frac;
  return Decimal(neg ? -nanos : nanos);
}

Decimal Decimal::times(Decimal o) const { return Decimal(div_round(nanos_ * o.nanos_, kScale)); }

Decimal Decimal::divided_by(int64_t d) const { return Decimal(div_round(nanos_, d)); }

Decimal Decimal::scaled(int64_t num, int64_t den) const {
  return Decimal(div_round(nanos_ * num, den));
}

double Decimal::ratio_to(Decimal o) const {
  return o.nanos_ == 0 ? 0.0 : static_cast<double>(nanos_) / static_cast<double>(o.nanos_);
}

double Decimal::to_double() const { return static_cast<double>(nanos_) / kScale; }

std::string Decimal::to_string(int decimals) const {
  decimals = std::clamp(decimals, 0, 9);
  Int128 step = 1;
  for (int k = decimals; k < 9; ++k) step *= 10;
  const Int128 rounded = div_round(nanos_, step);  // in units of 10^-decimals
  const Int128 mag = rounded < 0 ? -rounded : rounded;
  Int128 pow10 = 1;
  for (int k = 0; k < decimals; ++k) pow10 *= 10;
  std::string s = (rounded < 0 ? "-" : "") + int128_digits(mag / pow10);
  if (decimals > 0) {
    std::string f = int128_digits(mag % pow10);
    s += "." + std::string(static_cast<size_t>(decimals) - f.size(), '0') + f;
  }
  return s;
}

std::string Decimal::exact_string() const {
  std::string s = to_string(9);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace fathom::plan
