#include "services/delivery/templates/locale.h"

#include "common/phone/numbering_plans.h"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace otp::delivery {
namespace {

bool all_alpha(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0;
  });
}

constexpr std::array<std::pair<std::string_view, std::string_view>, 64> kRegionLanguages = {{
    {"BR", "pt"}, {"PT", "pt"}, {"AO", "pt"}, {"MZ", "pt"}, {"CV", "pt"}, {"GW", "pt"},
    {"ST", "pt"}, {"TL", "pt"}, {"ES", "es"}, {"MX", "es"}, {"AR", "es"}, {"CO", "es"},
    {"CL", "es"}, {"PE", "es"}, {"VE", "es"}, {"EC", "es"}, {"GT", "es"}, {"CU", "es"},
    {"BO", "es"}, {"DO", "es"}, {"HN", "es"}, {"PY", "es"}, {"SV", "es"}, {"NI", "es"},
    {"CR", "es"}, {"PA", "es"}, {"UY", "es"}, {"PR", "es"}, {"GQ", "es"}, {"FR", "fr"},
    {"MC", "fr"}, {"SN", "fr"}, {"CI", "fr"}, {"CM", "fr"}, {"ML", "fr"}, {"BF", "fr"},
    {"NE", "fr"}, {"TG", "fr"}, {"BJ", "fr"}, {"GA", "fr"}, {"CG", "fr"}, {"CD", "fr"},
    {"GN", "fr"}, {"MG", "fr"}, {"HT", "fr"}, {"RE", "fr"}, {"GP", "fr"}, {"MQ", "fr"},
    {"GF", "fr"}, {"YT", "fr"}, {"NC", "fr"}, {"PF", "fr"}, {"PM", "fr"}, {"BL", "fr"},
    {"MF", "fr"}, {"WF", "fr"}, {"DE", "de"}, {"AT", "de"}, {"CH", "de"}, {"LI", "de"},
    {"IN", "en"}, {"US", "en"}, {"GB", "en"}, {"CA", "en"},
}};

}  // namespace

std::string normalize_locale(std::string_view locale) {
  const auto separator = locale.find_first_of("-_");
  const auto language = locale.substr(0, separator);
  if (language.size() < 2 || language.size() > 3 || !all_alpha(language)) return {};
  std::string out;
  for (char c : language) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (separator == std::string_view::npos) return out;
  const auto region = locale.substr(separator + 1);
  if (region.size() != 2 || !all_alpha(region)) return {};
  out += '-';
  for (char c : region) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string language_of(std::string_view locale) {
  return std::string(locale.substr(0, locale.find('-')));
}

std::string language_for_phone(std::string_view e164) {
  if (!e164.starts_with('+')) return {};
  // A valid number's region comes from otp::phone (libphonenumber's answer without its regular
  // expressions); libphonenumber itself still guesses a region for an invalid one, as before.
  const auto& plans = phone::NumberingPlans::shared();
  const auto parsed = plans.parse(e164);
  if (!parsed) return {};
  std::string region;
  if (const auto valid = plans.valid_region(*parsed)) {
    region = *valid;
  } else {
    const auto& util = *i18n::phonenumbers::PhoneNumberUtil::GetInstance();
    i18n::phonenumbers::PhoneNumber number;
    if (util.Parse(std::string(e164), "ZZ", &number) !=
        i18n::phonenumbers::PhoneNumberUtil::NO_PARSING_ERROR) {
      return {};
    }
    util.GetRegionCodeForNumber(number, &region);
  }
  for (const auto& [code, language] : kRegionLanguages) {
    if (code == region) return std::string(language);
  }
  return region.empty() || region == "ZZ" ? std::string() : std::string("en");
}

}  // namespace otp::delivery
