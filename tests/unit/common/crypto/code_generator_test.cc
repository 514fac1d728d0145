#include "common/crypto/code_generator.h"

#include "tests/support/seeded_rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace otp::crypto {
namespace {

bool all_digits(const std::string& code) {
  return std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

TEST(OtpCodeGenerator, ProducesDigitsOfEveryAllowedLength) {
  test::SeededRng rng(1);
  OtpCodeGenerator generator(rng);
  for (int length = OtpCodeGenerator::kMinLength; length <= OtpCodeGenerator::kMaxLength;
       ++length) {
    for (int i = 0; i < 100; ++i) {
      const auto code = generator.generate(length);
      EXPECT_EQ(code.size(), static_cast<std::size_t>(length));
      EXPECT_TRUE(all_digits(code)) << code;
    }
  }
}

TEST(OtpCodeGenerator, IsDeterministicForADeterministicRng) {
  test::SeededRng first_rng(7);
  test::SeededRng second_rng(7);
  OtpCodeGenerator first(first_rng);
  OtpCodeGenerator second(second_rng);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(first.generate(6), second.generate(6));
}

TEST(OtpCodeGenerator, DigitsAreUniform) {
  test::SeededRng rng(2024);
  OtpCodeGenerator generator(rng);
  constexpr int kCodes = 20'000;
  constexpr int kLength = 10;
  std::array<int, 10> counts{};
  for (int i = 0; i < kCodes; ++i) {
    for (char c : generator.generate(kLength)) ++counts[static_cast<std::size_t>(c - '0')];
  }
  const double expected = kCodes * kLength / 10.0;
  double chi_square = 0;
  for (int count : counts) chi_square += (count - expected) * (count - expected) / expected;
  // 9 degrees of freedom, 99.9% critical value.
  EXPECT_LT(chi_square, 27.88);
}

TEST(OtpCodeGenerator, SkipsBytes250To255) {
  test::ScriptedRng rng({250, 251, 252, 253, 254, 255, 3, 17, 99, 249});
  OtpCodeGenerator generator(rng);
  EXPECT_EQ(generator.generate(4), "3799");
}

TEST(OtpCodeGenerator, OnlyAcceptedBytesBecomeDigits) {
  // Were 250..255 used, they would show up as 0..5.
  test::ScriptedRng rng({255, 254, 253, 252, 251, 250, 7});
  OtpCodeGenerator generator(rng);
  EXPECT_EQ(generator.generate(10), "7777777777");
}

TEST(OtpCodeGenerator, MapsEveryAcceptedByteToItsLastDecimalDigit) {
  std::vector<std::uint8_t> script;
  for (int b = 0; b < 250; b += 25) script.push_back(static_cast<std::uint8_t>(b + 9));
  test::ScriptedRng rng(script);  // 9, 34, 59, ..., 234
  OtpCodeGenerator generator(rng);
  EXPECT_EQ(generator.generate(10), "9494949494");
}

TEST(OtpCodeGenerator, DigitIsByteModuloTen) {
  std::vector<std::uint8_t> script;
  for (int b = 240; b < 250; ++b) script.push_back(static_cast<std::uint8_t>(b));
  test::ScriptedRng rng(script);
  OtpCodeGenerator generator(rng);
  EXPECT_EQ(generator.generate(10), "0123456789");
}

TEST(OtpCodeGenerator, RefillsWhenABatchIsMostlyRejected) {
  std::vector<std::uint8_t> script(100, 255);
  script.push_back(1);
  test::ScriptedRng rng(script);
  OtpCodeGenerator generator(rng);
  EXPECT_EQ(generator.generate(4), "1111");
  EXPECT_GT(rng.calls(), 1U);
}

TEST(OtpCodeGenerator, FetchesRandomBytesInBatches) {
  test::ScriptedRng rng({1, 2, 3});
  OtpCodeGenerator generator(rng);
  EXPECT_EQ(generator.generate(10), "1231231231");
  EXPECT_EQ(rng.calls(), 1U);
}

TEST(OtpCodeGeneratorDeathTest, RejectsLengthsOutsideFourToTen) {
  test::SeededRng rng;
  OtpCodeGenerator generator(rng);
  EXPECT_DEATH((void)generator.generate(3), "OTP_CHECK failed");
  EXPECT_DEATH((void)generator.generate(11), "OTP_CHECK failed");
}

}  // namespace
}  // namespace otp::crypto
