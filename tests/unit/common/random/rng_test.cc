#include "common/random/rng.h"

#include "tests/support/seeded_rng.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>

namespace otp {
namespace {

bool is_lower_hex(std::string_view text) {
  return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(RandomHex, HasTwoLowercaseHexDigitsPerByte) {
  test::ScriptedRng rng({0x00, 0x9f, 0xab, 0xff});
  EXPECT_EQ(random_hex(rng, 4), "009fabff");
  EXPECT_EQ(random_hex(rng, 0), "");
}

TEST(VerificationId, IsOtpPrefixAnd32LowercaseHex) {
  test::SeededRng rng(3);
  for (int i = 0; i < 100; ++i) {
    const auto id = new_verification_id(rng);
    ASSERT_EQ(id.size(), 36U);
    EXPECT_EQ(id.substr(0, 4), "otp_");
    EXPECT_TRUE(is_lower_hex(id.substr(4))) << id;
    EXPECT_TRUE(is_verification_id(id)) << id;
  }
}

TEST(VerificationId, Uses128RandomBits) {
  test::ScriptedRng rng({0xab});
  EXPECT_EQ(new_verification_id(rng), "otp_abababababababababababababababab");
  EXPECT_EQ(rng.bytes(), 16U);
}

TEST(VerificationId, IsUniqueAcrossDraws) {
  test::SeededRng rng(4);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(new_verification_id(rng));
  EXPECT_EQ(ids.size(), 1000U);
}

TEST(IsVerificationId, RejectsOtherShapes) {
  EXPECT_TRUE(is_verification_id("otp_0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(is_verification_id(""));
  EXPECT_FALSE(is_verification_id("otp_"));
  EXPECT_FALSE(is_verification_id("otp_0123456789abcdef0123456789abcde"));    // 31 hex
  EXPECT_FALSE(is_verification_id("otp_0123456789abcdef0123456789abcdef0"));  // 33 hex
  EXPECT_FALSE(is_verification_id("otp_0123456789ABCDEF0123456789abcdef"));   // uppercase
  EXPECT_FALSE(is_verification_id("otp_0123456789abcdeg0123456789abcdef"));   // not hex
  EXPECT_FALSE(is_verification_id("OTP_0123456789abcdef0123456789abcdef"));   // prefix case
  EXPECT_FALSE(is_verification_id("otp-0123456789abcdef0123456789abcdef"));   // prefix
  EXPECT_FALSE(is_verification_id("otp_0123456789abcdef|123456789abcdef"));   // separator
}

void expect_uuid_v4_shape(const std::string& uuid) {
  ASSERT_EQ(uuid.size(), 36U) << uuid;
  for (std::size_t i : {8U, 13U, 18U, 23U}) EXPECT_EQ(uuid[i], '-') << uuid;
  std::string hex = uuid;
  std::erase(hex, '-');
  EXPECT_EQ(hex.size(), 32U) << uuid;
  EXPECT_TRUE(is_lower_hex(hex)) << uuid;
  EXPECT_EQ(uuid[14], '4') << uuid;                                                    // version
  EXPECT_NE(std::string_view("89ab").find(uuid[19]), std::string_view::npos) << uuid;  // variant
}

TEST(Uuid, HasVersion4Shape) {
  test::SeededRng rng(5);
  for (int i = 0; i < 100; ++i) expect_uuid_v4_shape(new_uuid(rng));
}

TEST(Uuid, ForcesVersionAndVariantBits) {
  test::ScriptedRng zeros({0x00});
  EXPECT_EQ(new_uuid(zeros), "00000000-0000-4000-8000-000000000000");
  test::ScriptedRng ones({0xff});
  EXPECT_EQ(new_uuid(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(SeededRng, IsDeterministicPerSeed) {
  test::SeededRng a(11);
  test::SeededRng b(11);
  test::SeededRng c(12);
  std::array<std::uint8_t, 37> x{}, y{}, z{};
  a.fill(x);
  b.fill(y);
  c.fill(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(OpenSslRng, FillsWithFreshBytes) {
  OpenSslRng rng;
  std::array<std::uint8_t, 32> first{}, second{};
  rng.fill(first);
  rng.fill(second);
  EXPECT_NE(first, second);
  expect_uuid_v4_shape(new_uuid(rng));
  EXPECT_TRUE(is_verification_id(new_verification_id(rng)));
}

}  // namespace
}  // namespace otp
