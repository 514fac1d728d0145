#include "common/time/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace otp {
namespace {

using namespace std::chrono_literals;

TEST(FormatRfc3339, WritesUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(from_unix_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(from_unix_ms(1'700'000'000'123)), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339(from_unix_ms(951'782'400'007)), "2000-02-29T00:00:00.007Z");
  EXPECT_EQ(format_rfc3339(from_unix_ms(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339, TruncatesBelowMilliseconds) {
  EXPECT_EQ(format_rfc3339(from_unix_ms(1'700'000'000'123) + 999us), "2023-11-14T22:13:20.123Z");
}

TEST(Rfc3339, RoundTrips) {
  const std::vector<std::int64_t> samples = {
      0, 1, 999, 1'000, 86'399'999, 951'782'400'007, 1'700'000'000'123, 4'102'444'799'999};
  for (auto ms : samples) {
    const auto text = format_rfc3339(from_unix_ms(ms));
    auto parsed = parse_rfc3339(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
    EXPECT_EQ(to_unix_ms(*parsed), ms) << text;
  }
}

TEST(ParseRfc3339, AcceptsWholeSecondsOffsetZeroAndOtherPrecisions) {
  const std::vector<std::pair<std::string, std::int64_t>> cases = {
      {"2023-11-14T22:13:20Z", 1'700'000'000'000},
      {"2023-11-14T22:13:20+00:00", 1'700'000'000'000},
      {"2023-11-14T22:13:20.5Z", 1'700'000'000'500},
      {"2023-11-14T22:13:20.12Z", 1'700'000'000'120},
      {"2023-11-14T22:13:20.123456789Z", 1'700'000'000'123},
      {"2023-11-14T22:13:20.123+00:00", 1'700'000'000'123},
  };
  for (const auto& [text, ms] : cases) {
    auto parsed = parse_rfc3339(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
    EXPECT_EQ(to_unix_ms(*parsed), ms) << text;
  }
}

TEST(ParseRfc3339, RejectsNonUtc) {
  for (std::string text :
       {"2023-11-14T22:13:20+01:00", "2023-11-14T22:13:20-05:00", "2023-11-14T22:13:20.123+05:30",
        "2023-11-14T22:13:20", "2023-11-14T22:13:20.123", "2023-11-14T22:13:20 UTC"}) {
    auto parsed = parse_rfc3339(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidInput);
  }
}

TEST(ParseRfc3339, RejectsMalformedAndOutOfRange) {
  for (std::string text :
       {"", "yesterday", "2023-11-14", "2023-11-14T22:13Z", "2023-11-14T22:13:20.Z",
        "2023-13-14T22:13:20Z", "2023-00-14T22:13:20Z", "2023-11-32T22:13:20Z",
        "2023-11-14T24:13:20Z", "2023-11-14T22:60:20Z", "2023-11-14T22:13:20Zjunk"}) {
    auto parsed = parse_rfc3339(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidInput);
  }
}

TEST(UnixMs, ConvertsBothWays) {
  EXPECT_EQ(to_unix_ms(from_unix_ms(1'700'000'000'123)), 1'700'000'000'123);
  EXPECT_EQ(from_unix_ms(1'500) - from_unix_ms(0), 1500ms);
}

TEST(SystemClock, IsCloseToTheSystemTime) {
  SystemClock clock;
  const auto before = std::chrono::system_clock::now();
  const auto now = clock.now();
  EXPECT_GE(now, before);
  EXPECT_LT(now - before, 10s);
}

}  // namespace
}  // namespace otp

TEST(Rfc3339Strict, RejectsLooseShapesImpossibleDatesAndUnrepresentableYears) {
  for (const char* bad : {"2023-1-5T1:2:3Z", " 2023-01-05T01:02:03Z", "2023-02-31T00:00:00Z",
                          "2023-01-05T24:00:00Z", "2023-01-05T00:00:60Z", "0000-01-01T00:00:00Z",
                          "1969-12-31T23:59:59Z", "9999-01-01T00:00:00Z", "2023-01-05T00:00:00",
                          "2023-01-05T00:00:00.Z", "2023-01-05 00:00:00Z"}) {
    EXPECT_FALSE(otp::parse_rfc3339(bad).has_value()) << bad;
  }
  auto leap = otp::parse_rfc3339("2024-02-29T12:00:00.5Z");
  ASSERT_TRUE(leap.has_value());
  EXPECT_EQ(otp::format_rfc3339(*leap), "2024-02-29T12:00:00.500Z");
}
