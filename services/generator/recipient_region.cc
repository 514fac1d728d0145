#include "services/generator/recipient_region.h"

#include "common/phone/numbering_plans.h"

#include <algorithm>
#include <string>

namespace otp::generator {

PhoneFacts phone_facts(std::string_view e164) {
  const auto& plans = phone::NumberingPlans::shared();
  // libphonenumber's Parse(e164, "ZZ"): no default region, only numbers with their own country
  // code parse. Answered without its regular expressions for "+digits" (common/phone/README.md).
  const auto number = plans.parse(e164);
  if (!number) return {};
  PhoneFacts facts;
  const std::string& national = number->national_number;
  std::string prefix(1, '+');
  prefix += std::to_string(number->country_code);
  prefix.append(national, 0, std::min<std::size_t>(3, national.size()));
  facts.number_prefix = std::move(prefix);
  // An invalid number gets no country: libphonenumber would still guess one from its prefix.
  // `valid_region` is GetRegionCodeForNumber + IsValidNumberForRegion with the number's type
  // patterns evaluated once.
  const auto region = plans.valid_region(*number);
  // "001" (non-geographic entities) is not a country.
  if (region && region->size() == 2 && *region != "ZZ") facts.country = std::string(*region);
  return facts;
}

}  // namespace otp::generator
