// Exact decimal amounts for money and catalogue factors: a signed 128-bit count of nano-units
// (1e-9). Parsing, sums and integer multiples are exact; a product of two decimals or a division
// by an integer is rounded once to the nearest nano-unit, halves away from zero. Reports show
// amounts rounded the same way to cents. No floating point touches an amount (docs/plan.md).
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace fathom::plan {

__extension__ typedef __int128 Int128;

class Decimal {
 public:
  static constexpr int64_t kScale = 1'000'000'000;  ///< nano-units per unit

  constexpr Decimal() = default;
  static constexpr Decimal from_nanos(Int128 nanos) { return Decimal(nanos); }
  static constexpr Decimal from_int(int64_t units) { return Decimal(Int128(units) * kScale); }
  /// "12", "-0.5", "1234.000000001": up to 9 decimals, no exponent, no thousands separators.
  /// `field` names the input in the error.
  static Result<Decimal> parse(const std::string& text, const std::string& field);

  Int128 nanos() const { return nanos_; }
  bool is_zero() const { return nanos_ == 0; }
  bool negative() const { return nanos_ < 0; }

  Decimal operator+(Decimal o) const { return Decimal(nanos_ + o.nanos_); }
  Decimal operator-(Decimal o) const { return Decimal(nanos_ - o.nanos_); }
  Decimal& operator+=(Decimal o) {
    nanos_ += o.nanos_;
    return *this;
  }
  Decimal operator-() const { return Decimal(-nanos_); }
  /// Exact.
  Decimal times(int64_t n) const { return Decimal(nanos_ * n); }
  /// Rounded to the nano-unit, halves away from zero.
  Decimal times(Decimal o) const;
  /// Rounded to the nano-unit, halves away from zero; `d` > 0.
  Decimal divided_by(int64_t d) const;
  /// this * num / den, one rounding; den > 0.
  Decimal scaled(int64_t num, int64_t den) const;
  /// this / o as a ratio for display and comparisons of shares only (never fed back into money).
  double ratio_to(Decimal o) const;
  double to_double() const;

  /// Rounded to `decimals` (0..9) places, halves away from zero: "1234.57".
  std::string to_string(int decimals = 2) const;
  /// Every significant digit, trailing zeros dropped: "0.1", "12".
  std::string exact_string() const;

  auto operator<=>(const Decimal&) const = default;

 private:
  constexpr explicit Decimal(Int128 nanos) : nanos_(nanos) {}
  Int128 nanos_ = 0;
};

/// n / d rounded to the nearest integer, halves away from zero; d > 0.
Int128 div_round(Int128 n, Int128 d);

}  // namespace fathom::plan
