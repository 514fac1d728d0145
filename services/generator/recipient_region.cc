#include "services/generator/recipient_region.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <string>

namespace otp::generator {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

PhoneFacts phone_facts(std::string_view e164) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  // "ZZ": no default region, only numbers with their own country code parse.
  if (util.Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return {};
  }
  PhoneFacts facts;
  std::string national;
  util.GetNationalSignificantNumber(number, &national);
  facts.number_prefix = "+" + std::to_string(number.country_code()) +
                        national.substr(0, std::min<std::size_t>(3, national.size()));
  // An invalid number gets no country: libphonenumber would still guess one from its prefix.
  // (`IsValidNumber` is exactly `GetRegionCodeForNumber` + `IsValidNumberForRegion`; calling the
  // two halves resolves the region once instead of twice: for +1 that is ~25 regions' patterns.)
  std::string region;
  util.GetRegionCodeForNumber(number, &region);
  if (!util.IsValidNumberForRegion(number, region)) return facts;
  // "ZZ" (unknown) and "001" (non-geographic entities) are not countries.
  if (region.size() == 2 && region != "ZZ") facts.country = std::move(region);
  return facts;
}

}  // namespace otp::generator
