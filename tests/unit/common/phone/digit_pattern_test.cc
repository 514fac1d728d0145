#include "common/phone/digit_pattern.h"

#include <gtest/gtest.h>

namespace otp::phone {
namespace {

DigitPattern compiled(std::string_view pattern) {
  auto result = DigitPattern::compile(pattern);
  EXPECT_TRUE(result.has_value()) << pattern;
  return result ? std::move(*result) : *DigitPattern::compile("0");
}

TEST(DigitPattern, FullMatchNeedsTheWholeInput) {
  const auto pattern = compiled("4[1-35]\\d{2,3}");
  EXPECT_TRUE(pattern.full_match("4100"));
  EXPECT_TRUE(pattern.full_match("45999"));
  EXPECT_FALSE(pattern.full_match("44100"));    // 4 is not in [1-35]
  EXPECT_FALSE(pattern.full_match("410"));      // too short
  EXPECT_FALSE(pattern.full_match("4100000"));  // too long
  EXPECT_FALSE(pattern.full_match(""));
}

TEST(DigitPattern, AlternationGroupsAndQuantifiers) {
  const auto pattern = compiled("(?:1|2(?:0[1-9]|[1-9]\\d))\\d{3}|9(?:9)?8*|7(6)+");
  EXPECT_TRUE(pattern.full_match("1123"));
  EXPECT_TRUE(pattern.full_match("201000"));
  EXPECT_FALSE(pattern.full_match("200000"));
  EXPECT_TRUE(pattern.full_match("9"));
  EXPECT_TRUE(pattern.full_match("99888"));
  EXPECT_FALSE(pattern.full_match("999"));
  EXPECT_TRUE(pattern.full_match("7666"));
  EXPECT_FALSE(pattern.full_match("7"));
}

TEST(DigitPattern, OpenAndLazyRepetition) {
  const auto pattern = compiled("1\\d{2,}?");
  EXPECT_FALSE(pattern.full_match("12"));
  EXPECT_TRUE(pattern.full_match("123"));
  EXPECT_TRUE(pattern.full_match("1234567890123"));
}

TEST(DigitPattern, NegatedClassesCoverDigitsOnly) {
  const auto pattern = compiled("[^0-4]");
  EXPECT_TRUE(pattern.full_match("5"));
  EXPECT_FALSE(pattern.full_match("4"));
  EXPECT_FALSE(pattern.full_match("a"));
}

TEST(DigitPattern, PrefixMatchIsAnchoredAtTheStart) {
  const auto pattern = compiled("0(?:1\\d)?");
  EXPECT_TRUE(pattern.prefix_match("0", false));
  EXPECT_TRUE(pattern.prefix_match("0987", false));  // "0" is a prefix
  EXPECT_FALSE(pattern.prefix_match("10", false));   // not at the start
  EXPECT_FALSE(pattern.prefix_match("", false));
}

TEST(DigitPattern, EmptyPrefixOnlyWhenAllowed) {
  const auto pattern = compiled("0?(?:15)?");
  EXPECT_FALSE(pattern.prefix_match("2345", false));
  EXPECT_TRUE(pattern.prefix_match("2345", true));
  EXPECT_TRUE(pattern.prefix_match("1599", false));
}

TEST(DigitPattern, EndAnchorOnlyMatchesAtTheEnd) {
  // "national prefix, or a 7-digit local number" (libphonenumber's national prefix for MG).
  const auto pattern = compiled("0|([24-9]\\d{6})$");
  EXPECT_TRUE(pattern.prefix_match("2123456", false));     // the whole input
  EXPECT_FALSE(pattern.prefix_match("212345678", false));  // 7 digits, then more: no
  EXPECT_TRUE(pattern.prefix_match("0212345678", false));  // the "0" alternative
  EXPECT_TRUE(pattern.full_match("2123456"));
  EXPECT_FALSE(pattern.full_match("21234567"));
}

TEST(DigitPattern, RefusesSyntaxOutsideTheSubset) {
  for (std::string_view pattern : {"(?=1)2", "\\w", "a", "1{2", "[1-", "(1", "1)", "1{3,2}", "1?+",
                                   "\\1", "1{100}", "[a-c]"}) {
    EXPECT_FALSE(DigitPattern::compile(pattern).has_value()) << pattern;
  }
}

TEST(DigitPattern, RefusesAutomataAboveTheLimit) {
  EXPECT_FALSE(DigitPattern::compile("\\d{20}", 10).has_value());
  EXPECT_TRUE(DigitPattern::compile("\\d{20}", 30).has_value());
}

}  // namespace
}  // namespace otp::phone
