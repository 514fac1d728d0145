#include "services/delivery/providers/provider.h"

#include "tests/support/recording_http_client.h"

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

http::HttpResponse reply(long status, http::HeaderList headers = {}) {
  http::HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  return response;
}

TEST(ClassifyHttpStatus, OneTableForEveryHttpProvider) {
  EXPECT_EQ(classify_http_status("p", reply(400), "").code, Errc::kPermanent);
  EXPECT_EQ(classify_http_status("p", reply(404), "").code, Errc::kPermanent);
  EXPECT_EQ(classify_http_status("p", reply(422), "").code, Errc::kPermanent);
  const auto credentials = classify_http_status("p", reply(401), "p code 7");
  EXPECT_EQ(credentials.code, Errc::kPermanent);
  EXPECT_EQ(credentials.message, "p rejected credentials: p http 401 p code 7");
  EXPECT_EQ(classify_http_status("p", reply(403), "").code, Errc::kPermanent);
  EXPECT_EQ(classify_http_status("p", reply(408), "").code, Errc::kTimeout);
  const auto limited = classify_http_status("p", reply(429, {{"retry-after", "9"}}), "");
  EXPECT_EQ(limited.code, Errc::kRateLimited);
  EXPECT_EQ(retry_after(limited), seconds(9));
  EXPECT_EQ(classify_http_status("p", reply(500), "").code, Errc::kUnavailable);
  EXPECT_EQ(classify_http_status("p", reply(503), "").code, Errc::kUnavailable);
  EXPECT_EQ(classify_http_status("p", reply(302), "").code, Errc::kUnavailable);
}

// A provider whose halves are scripted, to test the synchronous adapter alone.
class HalvesProvider final : public HttpProvider {
 public:
  explicit HalvesProvider(http::HttpClient* http) : HttpProvider(http) {}
  std::string_view name() const override { return "halves"; }
  std::string_view channel() const override { return "sms"; }
  Result<http::HttpRequest> build_request(const OutboundMessage& message) const override {
    if (message.to.empty()) return fail(Errc::kPermanent, "halves: no recipient");
    return http::HttpRequest{.method = "POST", .url = "https://halves.test/" + message.to};
  }
  Result<ProviderReceipt> interpret(const http::HttpResponse& response,
                                    std::chrono::milliseconds elapsed) const override {
    if (response.status != 200) {
      return tl::unexpected(classify_http_status("halves", response, ""));
    }
    return ProviderReceipt{.provider = "halves", .message_id = response.body, .latency = elapsed};
  }
};

TEST(HttpProviderSend, IsInterpretOfSendOfBuildRequest) {
  test::RecordingHttpClient http;
  http::HttpResponse ok = reply(200);
  ok.body = "id-1";
  ok.elapsed = std::chrono::milliseconds(12);
  http.respond(ok);
  HalvesProvider provider(&http);
  auto receipt = provider.send(OutboundMessage{.job_id = "job-1", .to = "+1"});
  ASSERT_TRUE(receipt.has_value());
  EXPECT_EQ(receipt->message_id, "id-1");
  EXPECT_EQ(receipt->latency, std::chrono::milliseconds(12));
  ASSERT_EQ(http.requests().size(), 1U);
  EXPECT_EQ(http.requests()[0].url, "https://halves.test/+1");
}

TEST(HttpProviderSend, PrefixesTheJobAndKeepsTheRetryAfterToken) {
  test::RecordingHttpClient http;
  http.respond(429, "", {{"Retry-After", "4"}});
  http.fail(Errc::kTimeout, "POST https://halves.test timed out");
  HalvesProvider provider(&http);
  auto limited = provider.send(OutboundMessage{.job_id = "job-2", .to = "+1"});
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().message.rfind("job job-2: halves rate limited", 0), 0U);
  EXPECT_EQ(retry_after(limited.error()), seconds(4));
  auto timed_out = provider.send(OutboundMessage{.job_id = "job-3", .to = "+1"});
  EXPECT_EQ(timed_out.error().code, Errc::kTimeout);
  EXPECT_EQ(timed_out.error().message, "job job-3: halves POST https://halves.test timed out");
  // A request that cannot be built never reaches the client.
  auto refused = provider.send(OutboundMessage{.job_id = "job-4", .to = ""});
  EXPECT_EQ(refused.error().code, Errc::kPermanent);
  EXPECT_EQ(http.requests().size(), 2U);
}

}  // namespace
}  // namespace otp::delivery
