#include "services/delivery/providers/sms_encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace otp::delivery {
namespace {

TEST(SmsEncoding, Gsm7SingleAndConcatenatedLimits) {
  EXPECT_EQ(sms_encoding("").segments, 0);
  const auto one = sms_encoding(std::string(160, 'a'));
  EXPECT_TRUE(one.gsm7);
  EXPECT_EQ(one.units, 160);
  EXPECT_EQ(one.segments, 1);
  EXPECT_EQ(sms_encoding(std::string(161, 'a')).segments, 2);
  EXPECT_EQ(sms_encoding(std::string(306, 'a')).segments, 2);
  EXPECT_EQ(sms_encoding(std::string(307, 'a')).segments, 3);
  EXPECT_EQ(sms_encoding("Ünïcödé?").gsm7, false);  // ï is not in GSM 03.38
  EXPECT_TRUE(sms_encoding("Ihr Code: 123. Gültig 10 Min. àéèùìò ÄÖÑÜ ¿¡ £¥ Δ").gsm7);
}

TEST(SmsEncoding, ExtensionCharactersCountTwice) {
  const auto text = std::string(158, 'a') + "€";
  const auto encoding = sms_encoding(text);
  EXPECT_TRUE(encoding.gsm7);
  EXPECT_EQ(encoding.units, 160);
  EXPECT_EQ(encoding.segments, 1);
  EXPECT_EQ(sms_encoding(std::string(159, 'a') + "{").segments, 2);
  EXPECT_EQ(sms_encoding("[]{}|~^\\").units, 16);
}

TEST(SmsEncoding, AnEscapeSequenceOrSurrogatePairIsNotSplitAcrossParts) {
  // 152 septets then '€' (2 septets): it would straddle the first 153-septet part, so it opens
  // the second; 306 septets then need 3 parts instead of 2.
  const auto gsm = sms_encoding(std::string(152, 'a') + "€" + std::string(152, 'a'));
  EXPECT_EQ(gsm.units, 306);
  EXPECT_EQ(gsm.segments, 3);
  EXPECT_EQ(sms_encoding(std::string(151, 'a') + "€" + std::string(152, 'a')).segments, 2);
  const auto ucs = sms_encoding(std::string(66, 'a') + "😀" + std::string(66, 'a'));
  EXPECT_EQ(ucs.units, 134);
  EXPECT_EQ(ucs.segments, 3);
  EXPECT_EQ(sms_encoding(std::string(65, 'a') + "😀" + std::string(66, 'a')).segments, 2);
}

TEST(SmsEncoding, Ucs2LimitsAndSurrogatePairs) {
  const auto one = sms_encoding(std::string(69, 'a') + "ç");  // ç (lower case) is not GSM-7
  EXPECT_FALSE(one.gsm7);
  EXPECT_EQ(one.name(), "ucs2");
  EXPECT_EQ(one.units, 70);
  EXPECT_EQ(one.segments, 1);
  EXPECT_EQ(sms_encoding(std::string(70, 'a') + "ç").segments, 2);
  EXPECT_EQ(sms_encoding(std::string(133, 'a') + "ç").segments, 2);
  EXPECT_EQ(sms_encoding(std::string(134, 'a') + "ç").segments, 3);
  EXPECT_EQ(sms_encoding("😀").units, 2);  // outside the BMP: a surrogate pair
  EXPECT_EQ(sms_encoding("आपका").units, 4);
}

}  // namespace
}  // namespace otp::delivery
