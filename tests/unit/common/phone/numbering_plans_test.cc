#include "common/phone/numbering_plans.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstddef>
#include <list>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

// A differential test: every answer of NumberingPlans is compared with the plain libphonenumber
// path it replaces (Parse "ZZ", IsValidNumber, GetRegionCodeForNumber, Format E164) over the
// example numbers of every region and type, their one-digit mutations, national prefixes written
// inside the international form, punctuation variants and pseudo-random digit strings.

namespace otp::phone {

// Readable failures: "+44 7400123456 ext".
void PrintTo(const ParsedNumber& number, std::ostream* out) {
  *out << "+" << number.country_code << " " << number.national_number
       << (number.has_extension ? " ext" : "");
}

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const PhoneNumberUtil& util() { return *PhoneNumberUtil::GetInstance(); }

std::string e164_of(const PhoneNumber& number) {
  std::string text;
  util().Format(number, PhoneNumberUtil::E164, &text);
  return text;
}

// Every example number libphonenumber has, in E.164 form.
std::vector<std::string> example_numbers() {
  std::set<std::string> numbers;
  std::set<std::string> regions;
  util().GetSupportedRegions(&regions);
  for (const auto& region : regions) {
    std::set<PhoneNumberUtil::PhoneNumberType> types;
    util().GetSupportedTypesForRegion(region, &types);
    types.insert(PhoneNumberUtil::FIXED_LINE);
    types.insert(PhoneNumberUtil::MOBILE);
    for (auto type : types) {
      PhoneNumber number;
      if (util().GetExampleNumberForType(region, type, &number)) numbers.insert(e164_of(number));
    }
    PhoneNumber invalid;
    if (util().GetInvalidExampleNumber(region, &invalid)) numbers.insert(e164_of(invalid));
  }
  std::set<int> global_codes;
  util().GetSupportedGlobalNetworkCallingCodes(&global_codes);
  for (int code : global_codes) {
    PhoneNumber number;
    if (util().GetExampleNumberForNonGeoEntity(code, &number)) numbers.insert(e164_of(number));
  }
  return {numbers.begin(), numbers.end()};
}

class NumberingPlansTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { examples_ = new std::vector<std::string>(example_numbers()); }
  static void TearDownTestSuite() {
    delete examples_;
    examples_ = nullptr;
  }

  // Compares every answer for `text` with libphonenumber's; returns whether the fast path took it.
  bool expect_same(const std::string& text) {
    ++compared_;
    PhoneNumber number;
    const bool parses = util().Parse(text, "ZZ", &number) == PhoneNumberUtil::NO_PARSING_ERROR;
    const auto parsed = plans_.parse(text);
    const auto fast = plans_.fast_parse(text);
    EXPECT_EQ(parsed.has_value(), parses) << text;
    if (!parses) {
      EXPECT_FALSE(fast.has_value()) << text;
      EXPECT_EQ(plans_.normalize(text), std::nullopt) << text;
      return false;
    }
    std::string national;
    util().GetNationalSignificantNumber(number, &national);
    const ParsedNumber expected{.country_code = number.country_code(),
                                .national_number = national,
                                .has_extension = number.has_extension()};
    if (parsed) {
      EXPECT_EQ(*parsed, expected) << text;
    }
    if (fast) {
      EXPECT_EQ(*fast, expected) << text;
    }

    std::string region;
    util().GetRegionCodeForNumber(number, &region);
    const bool valid = util().IsValidNumber(number);
    const auto actual_region = plans_.valid_region(expected);
    EXPECT_EQ(actual_region.has_value(), valid) << text;
    if (valid && actual_region) {
      EXPECT_EQ(*actual_region, region) << text;
    }

    const bool accepted = valid && !number.has_extension();
    EXPECT_EQ(plans_.normalize(text),
              accepted ? std::optional<std::string>(e164_of(number)) : std::nullopt)
        << text;
    EXPECT_EQ(NumberingPlans::format_e164(expected), e164_of(number)) << text;
    valid_ += valid ? 1 : 0;
    return fast.has_value();
  }

  static std::vector<std::string>* examples_;
  const NumberingPlans& plans_ = NumberingPlans::shared();
  std::size_t compared_ = 0;
  std::size_t valid_ = 0;
};

std::vector<std::string>* NumberingPlansTest::examples_ = nullptr;

TEST_F(NumberingPlansTest, CompilesEveryCallingCode) {
  std::set<int> codes;
  util().GetSupportedCallingCodes(&codes);
  ASSERT_GT(codes.size(), 200U);
  for (int code : codes) EXPECT_TRUE(plans_.is_compiled(code)) << code;
}

TEST_F(NumberingPlansTest, ExampleNumbersOfEveryRegionAndType) {
  ASSERT_GT(examples_->size(), 1000U);
  std::size_t fast = 0;
  for (const auto& text : *examples_) fast += expect_same(text) ? 1 : 0;
  // The point of the fast path: most real numbers never reach Parse.
  EXPECT_GT(fast * 10, examples_->size() * 8) << fast << " of " << examples_->size();
  EXPECT_GT(valid_ * 10, compared_ * 8);
}

TEST_F(NumberingPlansTest, ExampleNumbersWithOneDigitChangedAddedOrRemoved) {
  std::mt19937_64 rng(20261122);
  std::uniform_int_distribution<int> digit(0, 9);
  for (const auto& text : *examples_) {
    for (std::size_t i = 1; i < text.size(); ++i) {
      std::string changed = text;
      changed[i] = static_cast<char>('0' + (text[i] - '0' + 1 + digit(rng) % 9) % 10);
      expect_same(changed);
      std::string added = text;
      added.insert(i, 1, static_cast<char>('0' + digit(rng)));
      expect_same(added);
      std::string removed = text;
      removed.erase(i, 1);
      expect_same(removed);
    }
    expect_same(text + static_cast<char>('0' + digit(rng)));
  }
  EXPECT_GT(valid_, 1000U);  // mutations keep many numbers valid: the interesting cases
}

TEST_F(NumberingPlansTest, NationalPrefixesInsideTheInternationalForm) {
  // Every example's national number, written with the national prefixes of every region that
  // shares its calling code, and with digits national prefixes often consist of.
  std::map<int, std::vector<std::string>> national_numbers;
  for (const auto& text : *examples_) {
    PhoneNumber number;
    if (util().Parse(text, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) continue;
    std::string national;
    util().GetNationalSignificantNumber(number, &national);
    national_numbers[number.country_code()].push_back(national);
  }
  for (const auto& [code, nationals] : national_numbers) {
    std::set<std::string> prefixes = {"0", "1", "8", "9", "15", "06", "90"};
    std::list<std::string> regions;
    util().GetRegionCodesForCountryCallingCode(code, &regions);
    for (const auto& region : regions) {
      std::string prefix;
      util().GetNddPrefixForRegion(region, true, &prefix);
      if (!prefix.empty()) prefixes.insert(prefix);
    }
    const std::string plus_code = "+" + std::to_string(code);
    for (const auto& national : nationals) {
      for (const auto& prefix : prefixes) {
        expect_same(plus_code + prefix + national);
        expect_same(plus_code + " " + prefix + " " + national);
      }
    }
  }
  for (const char* text : {"+44 07911 123456",
                           "+4407911123456",
                           "+49 030 123456",
                           "+49030123456",
                           "+7 8 495 123 45 67",
                           "+784951234567",
                           "+79123456789",
                           "+54 9 11 1234 5678",
                           "+5491112345678",
                           "+54 0 11 15 1234 5678",
                           "+541115 12345678",
                           "+52 1 55 1234 5678",
                           "+5215512345678",
                           "+52 044 55 1234 5678",
                           "+39 06 1234 5678",
                           "+390612345678",
                           "+39 0 6 1234 5678",
                           "+39 3123456789",
                           "+39 00 1234",
                           "+55 0 21 2345 6789",
                           "+55 021 21 2345 6789",
                           "+55 90 21 11 98765 4321",
                           "+61 0 2 1234 5678",
                           "+1 1 415 555 2671",
                           "+1 268 464 1234",
                           "+1 464 1234",
                           "+672 3 10 123",
                           "+672 10 123",
                           "+378 0549 886377",
                           "+378 886377",
                           "+261 20 22 12345",
                           "+261 2212345",
                           "+82 0 2 1234 5678",
                           "+82 08 1 2 1234 5678",
                           "+57 0 4 44 601 234 5678",
                           "+591 0 12 2 1234567",
                           "+375 80 29 1234567",
                           "+36 06 1 234 5678",
                           "+86 0 10 1234 5678",
                           "+506 1900 2212 3456",
                           "+352 1500 6 123456",
                           "+998 8 90 123 4567",
                           "+993 8 12 345678",
                           "+7 7 701 123 4567"}) {
    expect_same(text);
  }
}

TEST_F(NumberingPlansTest, PunctuationVariants) {
  for (const auto& text : *examples_) {
    PhoneNumber number;
    if (util().Parse(text, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) continue;
    std::string international;
    util().Format(number, PhoneNumberUtil::INTERNATIONAL, &international);
    // Only the characters the intake accepts ("+" first, then digits and " -.()").
    if (international.find_first_not_of("+0123456789 -.()") != std::string::npos) continue;
    expect_same(international);
    for (const char punctuation : {'-', '.', '(', ')'}) {
      std::string replaced = international;
      for (auto& c : replaced) {
        if (c == ' ') c = punctuation;
      }
      expect_same(replaced);
    }
    const auto space = international.find(' ');
    if (space != std::string::npos) {
      expect_same("+(" + international.substr(1, space - 1) + ")" + international.substr(space));
      expect_same(international.substr(0, space) + " (" + international.substr(space + 1) + ")");
    }
    expect_same("+ " + international.substr(1));
    expect_same(international + " ");
    expect_same(international + "-");
    expect_same(international + ".");
    expect_same("+.." + text.substr(1));
    expect_same(text.substr(0, 3) + "  " + text.substr(3));
  }
  for (const char* text : {"+", "+ ", "+1", "+1 2", "+12", "+123", "+1 (2) 3", "+()", "+-1-2-3-",
                           "+0044 20 7946 0000", "++44 20 7946 0000", "+44 20 7946 0000 x12",
                           "+1 415 555 2671 ext. 5", "+44 20 7946 0000;ext=1", "44 20 7946 0000",
                           "+1 800 FLOWERS", "tel:+14155552671", "+14155552671/x5"}) {
    expect_same(text);
  }
}

TEST_F(NumberingPlansTest, PseudoRandomDigitStrings) {
  std::set<int> codes_set;
  util().GetSupportedCallingCodes(&codes_set);
  const std::vector<int> codes(codes_set.begin(), codes_set.end());
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<std::size_t> length(2, 17);
  std::uniform_int_distribution<std::size_t> code_index(0, codes.size() - 1);
  constexpr int kStrings = 300000;
  for (int i = 0; i < kStrings; ++i) {
    // Half start with a real calling code, so that the national number patterns get exercised.
    std::string text = i % 2 == 0 ? "+" : "+" + std::to_string(codes[code_index(rng)]);
    const std::size_t digits = length(rng);
    while (text.size() < digits + 1) text.push_back(static_cast<char>('0' + digit(rng)));
    expect_same(text);
  }
  EXPECT_EQ(compared_, static_cast<std::size_t>(kStrings));
  EXPECT_GT(valid_, 1000U);
}

TEST_F(NumberingPlansTest, AFreshInstanceAnswersLikeTheSharedOne) {
  const NumberingPlans fresh;
  for (const auto& text : *examples_) {
    EXPECT_EQ(fresh.normalize(text), plans_.normalize(text)) << text;
  }
  EXPECT_EQ(fresh.normalize("+1 (415) 555-2671"), "+14155552671");
  EXPECT_EQ(fresh.normalize("+1 415 555 267"), std::nullopt);
}

TEST_F(NumberingPlansTest, RegionsOfSharedCallingCodes) {
  auto region = [&](std::string_view text) -> std::string {
    auto parsed = plans_.parse(text);
    if (!parsed) return "unparsed";
    auto valid = plans_.valid_region(*parsed);
    return valid ? std::string(*valid) : "invalid";
  };
  EXPECT_EQ(region("+14155552671"), "US");
  EXPECT_EQ(region("+16135550123"), "CA");
  EXPECT_EQ(region("+12684641234"), "AG");
  EXPECT_EQ(region("+447400123456"), "GB");
  EXPECT_EQ(region("+447781123456"), "GG");
  EXPECT_EQ(region("+447624123456"), "IM");
  EXPECT_EQ(region("+79123456789"), "RU");
  EXPECT_EQ(region("+77011234567"), "KZ");
  EXPECT_EQ(region("+80012345678"), "001");
  EXPECT_EQ(region("+10005550000"), "invalid");
}

}  // namespace
}  // namespace otp::phone
