#pragma once

#include <string>
#include <string_view>

namespace otp::delivery {

/// "pt_br", "PT-BR", "pt-BR" -> "pt-BR"; "EN" -> "en". Empty if `locale` is not a language
/// (2-3 letters) optionally followed by a 2-letter region.
[[nodiscard]] std::string normalize_locale(std::string_view locale);

/// The language part of a normalized locale ("pt-BR" -> "pt").
[[nodiscard]] std::string language_of(std::string_view locale);

/// The language to write to a phone number in, from its country (libphonenumber region):
/// Portuguese for BR, PT, AO, MZ, ...; Spanish for ES, MX and Spanish-speaking America;
/// French for FR, MC and francophone Africa; German for DE, AT, CH, LI; English otherwise.
/// India (IN) gets English on purpose: Hindi is not the first language of most Indians, English
/// is the common language of transactional SMS there, and Devanagari needs UCS-2 (70-character
/// segments). Empty for anything that is not a valid E.164 number (e.g. an email address).
[[nodiscard]] std::string language_for_phone(std::string_view e164);

}  // namespace otp::delivery
