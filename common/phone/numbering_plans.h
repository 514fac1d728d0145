#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace otp::phone {

/// A phone number as libphonenumber's `Parse(text, "ZZ")` leaves it.
struct ParsedNumber {
  int country_code = 0;
  /// The national significant number, leading zeros included (`GetNationalSignificantNumber`).
  std::string national_number;
  bool has_extension = false;

  friend bool operator==(const ParsedNumber&, const ParsedNumber&) = default;
};

/// libphonenumber's parsing and validation of international numbers, answered from automata
/// compiled once from libphonenumber's own metadata instead of ICU regular expressions
/// (README.md has the equivalence argument).
///
/// - `parse(text)` equals `PhoneNumberUtil::Parse(text, "ZZ")`. Inputs of the form `+` digits,
///   optionally with spaces, `-`, `.`, `(` and `)`, are split without libphonenumber when the
///   answer provably equals Parse's (`fast_parse`); anything else goes through Parse.
/// - `valid_region(number)` is `GetRegionCodeForNumber` when `IsValidNumber` holds, in one pass.
///
/// A process builds one instance (`shared()`) and keeps it. Each calling code's automata are
/// compiled the first time a number with that code is seen (all of them take some milliseconds,
/// a second under the sanitizers); `compile_all` compiles them up front, for a service's
/// start-up. Safe to share between threads (each code is compiled once, under `std::call_once`).
class NumberingPlans {
 public:
  /// Reads libphonenumber's metadata. A calling code whose patterns use syntax that
  /// `DigitPattern` does not support is answered by libphonenumber instead (`is_compiled`).
  NumberingPlans();
  ~NumberingPlans();
  NumberingPlans(const NumberingPlans&) = delete;
  NumberingPlans& operator=(const NumberingPlans&) = delete;

  /// The process's instance, built on first use (like `PhoneNumberUtil::GetInstance`).
  [[nodiscard]] static const NumberingPlans& shared();

  /// `Parse(text, "ZZ")`: nullopt where Parse reports an error.
  [[nodiscard]] std::optional<ParsedNumber> parse(std::string_view text) const;

  /// Parse's answer computed without libphonenumber, or nullopt when this input needs the full
  /// Parse (not `+` digits and punctuation, an unknown calling code, a national number outside
  /// 2..17 digits, or one that starts like the country's national prefix, which Parse may strip).
  [[nodiscard]] std::optional<ParsedNumber> fast_parse(std::string_view text) const;

  /// The region (`"US"`, `"001"` for non-geographic entities) of a number that `IsValidNumber`
  /// accepts; nullopt for an invalid number.
  [[nodiscard]] std::optional<std::string_view> valid_region(const ParsedNumber& number) const;

  /// `Format(number, E164)`: `+`, calling code, national significant number.
  [[nodiscard]] static std::string format_e164(const ParsedNumber& number);

  /// The E.164 form of a valid number without extension; nullopt for anything else. Equals
  /// `Parse(text, "ZZ")` + `!has_extension()` + `IsValidNumber` + `Format(E164)`.
  [[nodiscard]] std::optional<std::string> normalize(std::string_view text) const;

  /// Compiles every calling code's automata now rather than on first use.
  void compile_all() const;

  /// Whether this calling code is answered by the automata (true for every calling code of the
  /// libphonenumber this was built against; the tests hold it to that).
  [[nodiscard]] bool is_compiled(int country_code) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::phone
