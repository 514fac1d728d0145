#include "common/phone/numbering_plans.h"

#include "common/phone/digit_pattern.h"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <vector>

// libphonenumber's compiled-in metadata (its src/phonenumbers/metadata.h, not installed): the
// serialized PhoneMetadataCollection that PhoneNumberUtil itself loads. Reading the same bytes is
// what makes the automata answer for the same metadata as the library they stand in for.
namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace otp::phone {
namespace {

namespace pn = i18n::phonenumbers;

// libphonenumber's limits (phonenumberutil.cc): kMinLengthForNsn, kMaxLengthForNsn,
// kMaxLengthCountryCode.
constexpr std::size_t kMinNationalLength = 2;
constexpr std::size_t kMaxNationalLength = 17;
constexpr std::size_t kMaxCallingCodeLength = 3;
constexpr int kCallingCodeLimit = 1000;
// Far below Parse's 250-character input limit; longer inputs simply take the full Parse.
constexpr std::size_t kMaxFastInput = 64;

bool is_punctuation(char c) { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')'; }

// One PhoneNumberDesc: IsNumberMatchingDesc = possible length (when listed) + full match.
struct Desc {
  bool lists_lengths = false;
  std::uint64_t lengths = 0;            // bit n = length n possible; -1 ("no numbers") sets no bit
  std::optional<DigitPattern> pattern;  // nullopt: empty pattern, which matches nothing

  bool matches(std::string_view national) const {
    if (lists_lengths && (national.size() >= 64 || ((lengths >> national.size()) & 1U) == 0)) {
      return false;
    }
    return pattern && pattern->full_match(national);
  }
};

struct Region {
  std::string code;
  Desc general;
  // GetNumberTypeHelper's order; only whether any matches is needed.
  std::array<Desc, 8> other_types;  // premium, toll-free, shared cost, VoIP, personal, pager, UAN,
                                    // voicemail
  Desc fixed_line;
  Desc mobile;
  bool same_mobile_and_fixed_line = false;
  std::optional<DigitPattern> leading_digits;  // only for regions sharing a calling code

  // GetNumberTypeHelper(national, metadata) != UNKNOWN.
  bool has_number_type(std::string_view national) const {
    if (!general.matches(national)) return false;
    for (const auto& desc : other_types) {
      if (desc.matches(national)) return true;
    }
    if (fixed_line.matches(national)) return true;
    return !same_mobile_and_fixed_line && mobile.matches(national);
  }
};

struct CallingCode {
  bool known = false;  // in libphonenumber's calling code map
  // Compiled on first use (`NumberingPlans::Impl::find`), once, by whichever thread asks first.
  std::once_flag once;
  bool compiled = false;                        // every pattern below compiled
  std::deque<Region> storage;                   // stable addresses for `regions`
  std::vector<const Region*> regions;           // GetRegionCodesForCountryCallingCode's order
  std::optional<DigitPattern> national_prefix;  // national_prefix_for_parsing of Parse's metadata
};

// Compiles one desc; false when its pattern uses unsupported syntax.
bool compile_desc(const pn::PhoneNumberDesc& source, Desc& desc) {
  desc.lists_lengths = source.possible_length_size() > 0;
  for (int length : source.possible_length()) {
    if (length >= 0 && length < 64) desc.lengths |= std::uint64_t{1} << length;
  }
  if (source.national_number_pattern().empty()) return true;
  desc.pattern = DigitPattern::compile(source.national_number_pattern());
  return desc.pattern.has_value();
}

bool compile_region(const pn::PhoneMetadata& metadata, std::string code, Region& region) {
  region.code = std::move(code);
  bool ok = compile_desc(metadata.general_desc(), region.general);
  const pn::PhoneNumberDesc* others[] = {
      &metadata.premium_rate(), &metadata.toll_free(),       &metadata.shared_cost(),
      &metadata.voip(),         &metadata.personal_number(), &metadata.pager(),
      &metadata.uan(),          &metadata.voicemail()};
  for (std::size_t i = 0; i < region.other_types.size(); ++i) {
    ok = compile_desc(*others[i], region.other_types[i]) && ok;
  }
  ok = compile_desc(metadata.fixed_line(), region.fixed_line) && ok;
  ok = compile_desc(metadata.mobile(), region.mobile) && ok;
  region.same_mobile_and_fixed_line = metadata.same_mobile_and_fixed_line_pattern();
  if (metadata.has_leading_digits()) {
    region.leading_digits = DigitPattern::compile(metadata.leading_digits());
    ok = region.leading_digits.has_value() && ok;
  }
  return ok;
}

// The PhoneNumber Parse makes for this number (SetItalianLeadingZerosForPhoneNumber).
std::optional<pn::PhoneNumber> to_phone_number(const ParsedNumber& number) {
  const std::string& national = number.national_number;
  if (national.empty() || national.size() > kMaxNationalLength ||
      national.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  pn::PhoneNumber parsed;
  parsed.set_country_code(number.country_code);
  if (national.size() > 1 && national.front() == '0') {
    parsed.set_italian_leading_zero(true);
    int zeros = 1;
    while (static_cast<std::size_t>(zeros) < national.size() - 1 && national[zeros] == '0') ++zeros;
    if (zeros != 1) parsed.set_number_of_leading_zeros(zeros);
  }
  parsed.set_national_number(std::stoull(national));
  return parsed;
}

}  // namespace

struct NumberingPlans::Impl {
  const pn::PhoneNumberUtil& util = *pn::PhoneNumberUtil::GetInstance();
  pn::PhoneMetadataCollection collection;  // what `by_region` and `non_geographic` point into
  std::map<std::string, const pn::PhoneMetadata*, std::less<>> by_region;
  std::map<int, const pn::PhoneMetadata*> non_geographic;
  std::array<CallingCode, kCallingCodeLimit> codes;

  // Reads the metadata and the calling codes; each code's patterns are compiled on first use, so
  // a process (or a test) pays only for the codes it meets; `compile_all` compiles the rest.
  Impl() {
    if (!collection.ParseFromArray(pn::metadata_get(), pn::metadata_size())) return;
    for (const auto& metadata : collection.metadata()) {
      if (metadata.id() == "001") {
        non_geographic[metadata.country_code()] = &metadata;
      } else {
        by_region[metadata.id()] = &metadata;
      }
    }
    std::set<int> calling_codes;
    util.GetSupportedCallingCodes(&calling_codes);
    for (int country_code : calling_codes) {
      if (country_code <= 0 || country_code >= kCallingCodeLimit) continue;
      codes[static_cast<std::size_t>(country_code)].known = true;
    }
  }

  void compile(int country_code, CallingCode& entry) const {
    std::list<std::string> region_codes;
    util.GetRegionCodesForCountryCallingCode(country_code, &region_codes);
    bool ok = !region_codes.empty();
    const pn::PhoneMetadata* parsing_metadata = nullptr;
    for (const auto& code : region_codes) {
      const pn::PhoneMetadata* metadata = nullptr;
      if (code == "001") {
        auto it = non_geographic.find(country_code);
        if (it != non_geographic.end()) metadata = it->second;
      } else {
        auto it = by_region.find(code);
        if (it != by_region.end()) metadata = it->second;
      }
      if (metadata == nullptr || metadata->country_code() != country_code) {
        ok = false;
        break;
      }
      // Parse strips national prefixes with the metadata of GetRegionCodeForCountryCode,
      // the first region in this list.
      if (parsing_metadata == nullptr) parsing_metadata = metadata;
      ok = compile_region(*metadata, code, entry.storage.emplace_back()) && ok;
      entry.regions.push_back(&entry.storage.back());
    }
    if (ok && parsing_metadata != nullptr &&
        !parsing_metadata->national_prefix_for_parsing().empty()) {
      entry.national_prefix =
          DigitPattern::compile(parsing_metadata->national_prefix_for_parsing());
      ok = entry.national_prefix.has_value();
    }
    entry.compiled = ok;
  }

  const CallingCode* find(int country_code) {
    if (country_code <= 0 || country_code >= kCallingCodeLimit) return nullptr;
    CallingCode& entry = codes[static_cast<std::size_t>(country_code)];
    if (!entry.known) return nullptr;
    std::call_once(entry.once, [&] { compile(country_code, entry); });
    return &entry;
  }
};

NumberingPlans::NumberingPlans() : impl_(std::make_unique<Impl>()) {}
NumberingPlans::~NumberingPlans() = default;

const NumberingPlans& NumberingPlans::shared() {
  static const NumberingPlans plans;
  return plans;
}

std::optional<ParsedNumber> NumberingPlans::fast_parse(std::string_view text) const {
  if (text.size() > kMaxFastInput || text.empty() || text.front() != '+') return std::nullopt;
  std::array<char, kMaxCallingCodeLength + kMaxNationalLength> digits{};
  std::size_t count = 0;
  for (char c : text.substr(1)) {
    if (c >= '0' && c <= '9') {
      if (count == digits.size()) return std::nullopt;
      digits[count++] = c;
    } else if (!is_punctuation(c)) {
      return std::nullopt;
    }
  }
  // Parse's ExtractCountryCode: the first of the 1..3-digit prefixes that is a calling code; none
  // starts with 0. Fewer than 3 digits are not a viable number at all.
  if (count < 3 || digits[0] == '0') return std::nullopt;
  int country_code = 0;
  for (std::size_t length = 1; length <= kMaxCallingCodeLength; ++length) {
    country_code = country_code * 10 + (digits[length - 1] - '0');
    const CallingCode* entry = impl_->find(country_code);
    if (entry == nullptr) continue;
    if (!entry->compiled) return std::nullopt;
    const std::string_view national(digits.data() + length, count - length);
    if (national.size() < kMinNationalLength || national.size() > kMaxNationalLength) {
      return std::nullopt;
    }
    // MaybeStripNationalPrefixAndCarrierCode changes the number only after its pattern consumed
    // a non-empty prefix (an empty match captures nothing and strips nothing).
    if (entry->national_prefix && entry->national_prefix->prefix_match(national, false)) {
      return std::nullopt;
    }
    return ParsedNumber{.country_code = country_code, .national_number = std::string(national)};
  }
  return std::nullopt;
}

std::optional<ParsedNumber> NumberingPlans::parse(std::string_view text) const {
  if (auto fast = fast_parse(text)) return fast;
  pn::PhoneNumber number;
  if (impl_->util.Parse(std::string(text), "ZZ", &number) !=
      pn::PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  ParsedNumber parsed{.country_code = number.country_code(),
                      .has_extension = number.has_extension()};
  impl_->util.GetNationalSignificantNumber(number, &parsed.national_number);
  return parsed;
}

std::optional<std::string_view> NumberingPlans::valid_region(const ParsedNumber& number) const {
  const CallingCode* entry = impl_->find(number.country_code);
  if (entry == nullptr) return std::nullopt;  // GetRegionCodeForNumber: "ZZ", never valid
  const std::string_view national = number.national_number;
  if (!entry->compiled) {
    auto parsed = to_phone_number(number);
    if (!parsed) return std::nullopt;
    std::string region;
    impl_->util.GetRegionCodeForNumber(*parsed, &region);
    if (!impl_->util.IsValidNumberForRegion(*parsed, region)) return std::nullopt;
    for (const Region* candidate : entry->regions) {
      if (candidate->code == region) return candidate->code;
    }
    return std::nullopt;
  }
  if (entry->regions.size() == 1) {
    const Region& region = *entry->regions.front();
    if (!region.has_number_type(national)) return std::nullopt;
    return region.code;
  }
  // GetRegionCodeForNumberFromRegionList: the first region whose leading digits match, or (for
  // a region without them) that has a type for the number; then IsValidNumberForRegion.
  for (const Region* region : entry->regions) {
    if (region->leading_digits) {
      if (!region->leading_digits->prefix_match(national, true)) continue;
      if (!region->has_number_type(national)) return std::nullopt;
      return region->code;
    }
    // The type check that picked the region is the validity check: no second evaluation.
    if (region->has_number_type(national)) return region->code;
  }
  return std::nullopt;
}

std::string NumberingPlans::format_e164(const ParsedNumber& number) {
  // Appended piece by piece: one allocation at most, and g++ 12 reports a false -Wrestrict on
  // "+" + std::string in optimised builds.
  std::string e164;
  e164.reserve(1 + kMaxCallingCodeLength + number.national_number.size());
  e164.push_back('+');
  e164 += std::to_string(number.country_code);
  e164 += number.national_number;
  return e164;
}

std::optional<std::string> NumberingPlans::normalize(std::string_view text) const {
  auto number = parse(text);
  if (!number || number->has_extension || !valid_region(*number)) return std::nullopt;
  return format_e164(*number);
}

void NumberingPlans::compile_all() const {
  for (int country_code = 1; country_code < kCallingCodeLimit; ++country_code) {
    (void)impl_->find(country_code);
  }
}

bool NumberingPlans::is_compiled(int country_code) const {
  const CallingCode* entry = impl_->find(country_code);
  return entry != nullptr && entry->compiled;
}

}  // namespace otp::phone
