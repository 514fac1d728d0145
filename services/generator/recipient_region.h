#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace otp::generator {

/// What reporting may know about a phone recipient without knowing the number.
struct PhoneFacts {
  /// libphonenumber's ISO 3166-1 alpha-2 region of a valid number ("US", "GB"); nullopt when the
  /// number belongs to no single region or is not a valid number.
  std::optional<std::string> country;
  /// "+" + country calling code + the first 3 digits of the national number ("+1415"): coarse
  /// enough to count by area, never the number. nullopt when the number does not parse.
  std::optional<std::string> number_prefix;
};

/// Facts about an E.164 number (libphonenumber). Thread-safe.
[[nodiscard]] PhoneFacts phone_facts(std::string_view e164);

}  // namespace otp::generator
