#include "services/delivery/providers/provider.h"

#include <gtest/gtest.h>

namespace otp::delivery {
namespace {

using std::chrono::seconds;

TEST(RetryAfter, RoundTripsThroughTheErrorMessage) {
  const Error error = rate_limited_error("twilio rate limited: http 429", seconds(30));
  EXPECT_EQ(error.code, Errc::kRateLimited);
  EXPECT_TRUE(error.is_retryable());
  EXPECT_EQ(error.message, "twilio rate limited: http 429 retry_after=30s");
  EXPECT_EQ(retry_after(error), seconds(30));
}

TEST(RetryAfter, IsAbsentWhenTheProviderGaveNone) {
  const Error error = rate_limited_error("twilio rate limited: http 429", std::nullopt);
  EXPECT_EQ(error.message, "twilio rate limited: http 429");
  EXPECT_EQ(retry_after(error), std::nullopt);
}

TEST(RetryAfter, IsOnlyReadFromRateLimitedErrors) {
  EXPECT_EQ(retry_after(Error{Errc::kUnavailable, "x retry_after=5s"}), std::nullopt);
}

TEST(ParseRetryAfter, AcceptsDeltaSecondsOnly) {
  EXPECT_EQ(parse_retry_after("7"), seconds(7));
  EXPECT_EQ(parse_retry_after(" 120 "), seconds(120));
  EXPECT_EQ(parse_retry_after("0"), seconds(0));
  EXPECT_EQ(parse_retry_after(""), std::nullopt);
  EXPECT_EQ(parse_retry_after("-3"), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5"), std::nullopt);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_retry_after("99999999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace otp::delivery
