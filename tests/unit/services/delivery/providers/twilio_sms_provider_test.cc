#include "services/delivery/providers/twilio_sms_provider.h"

#include "tests/support/recording_http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace otp::delivery {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kAccountSid = "AC11111111111111111111111111111111";
constexpr const char* kAuthToken = "s3cr3t-token";
constexpr const char* kTo = "+14155550100";
constexpr const char* kBody = "Your Acme code is 482913";
constexpr const char* kSid = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

TwilioConfig test_config() {
  TwilioConfig config;
  config.base_url = "https://twilio.test";
  config.account_sid = kAccountSid;
  config.auth_token = config::Secret(kAuthToken);
  config.from = "+15005550006";
  config.timeout = milliseconds(2500);
  return config;
}

OutboundMessage test_message() {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_0123456789abcdef0123456789abcdef",
                         .job_id = "job-1",
                         .channel = "sms",
                         .to = kTo,
                         .body = kBody,
                         .subject = ""};
}

std::string twilio_error(int code, int status, const std::string& message) {
  return R"({"code":)" + std::to_string(code) + R"(,"message":")" + message +
         R"(","more_info":"https://www.twilio.com/docs/errors/)" + std::to_string(code) +
         R"(","status":)" + std::to_string(status) + "}";
}

std::string created_reply() {
  return std::string(R"({"sid":")") + kSid + R"(","status":"queued"})";
}

// What no error message may ever carry.
void expect_no_secrets(const Error& error) {
  EXPECT_THAT(error.message, Not(HasSubstr(kTo)));
  EXPECT_THAT(error.message, Not(HasSubstr("4155550100")));
  EXPECT_THAT(error.message, Not(HasSubstr(kBody)));
  EXPECT_THAT(error.message, Not(HasSubstr("482913")));
  EXPECT_THAT(error.message, Not(HasSubstr(kAuthToken)));
}

class TwilioSmsProviderTest : public ::testing::Test {
 protected:
  test::RecordingHttpClient http_;
  TwilioSmsProvider provider_{http_, test_config()};
};

TEST_F(TwilioSmsProviderTest, PostsTheMessagesResourceWithBasicAuthAndFormFields) {
  http_.respond(201, created_reply());

  ASSERT_TRUE(provider_.send(test_message()).has_value());

  ASSERT_EQ(http_.requests().size(), 1U);
  const http::HttpRequest& request = http_.requests().front();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url,
            "https://twilio.test/2010-04-01/Accounts/AC11111111111111111111111111111111/"
            "Messages.json");
  ASSERT_TRUE(request.basic_auth.has_value());
  EXPECT_EQ(request.basic_auth->first, kAccountSid);
  EXPECT_EQ(request.basic_auth->second, kAuthToken);
  EXPECT_THAT(request.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                   "Content-Type", "application/x-www-form-urlencoded")));
  EXPECT_EQ(request.body, "To=%2B14155550100&From=%2B15005550006&Body=Your+Acme+code+is+482913");
  EXPECT_EQ(request.timeout, milliseconds(2500));
}

TEST_F(TwilioSmsProviderTest, EncodesReservedAndNonAsciiCharactersInTheBody) {
  auto message = test_message();
  message.body = "a&b=c+d %/é*~";
  http_.respond(201, created_reply());
  ASSERT_TRUE(provider_.send(message).has_value());
  EXPECT_THAT(http_.requests().front().body, HasSubstr("&Body=a%26b%3Dc%2Bd+%25%2F%C3%A9*%7E"));
}

TEST(TwilioSmsProvider, SendsMessagingServiceSidInsteadOfFromWhenConfigured) {
  test::RecordingHttpClient http;
  auto config = test_config();
  config.base_url = "https://twilio.test/";  // a trailing slash must not double up
  config.messaging_service_sid = "MG22222222222222222222222222222222";
  TwilioSmsProvider provider(http, config);
  http.respond(201, created_reply());

  ASSERT_TRUE(provider.send(test_message()).has_value());

  const auto& request = http.requests().front();
  EXPECT_EQ(request.url,
            "https://twilio.test/2010-04-01/Accounts/AC11111111111111111111111111111111/"
            "Messages.json");
  EXPECT_EQ(request.body,
            "To=%2B14155550100&MessagingServiceSid=MG22222222222222222222222222222222"
            "&Body=Your+Acme+code+is+482913");
}

TEST(TwilioSmsProvider, RejectsIncompleteConfigurationAtConstruction) {
  test::RecordingHttpClient http;
  auto no_sid = test_config();
  no_sid.account_sid.clear();
  EXPECT_THROW(TwilioSmsProvider(http, no_sid), std::invalid_argument);
  auto no_token = test_config();
  no_token.auth_token = config::Secret();
  EXPECT_THROW(TwilioSmsProvider(http, no_token), std::invalid_argument);
  auto no_sender = test_config();
  no_sender.from.clear();
  EXPECT_THROW(TwilioSmsProvider(http, no_sender), std::invalid_argument);
}

TEST_F(TwilioSmsProviderTest, ReturnsTheMessageSidAndLatencyOnCreated) {
  http::HttpResponse created;
  created.status = 201;
  created.body = std::string(R"({"sid":")") + kSid + R"(","status":"queued","to":"+14155550100"})";
  created.elapsed = milliseconds(42);
  http_.respond(created);

  auto receipt = provider_.send(test_message());

  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->provider, "twilio");
  EXPECT_EQ(receipt->message_id, kSid);
  EXPECT_EQ(receipt->latency, milliseconds(42));
  EXPECT_EQ(provider_.name(), "twilio");
}

TEST_F(TwilioSmsProviderTest, InvalidNumberIsPermanentWithTwilioCodeButWithoutTheNumber) {
  // Twilio's own message quotes the number: it must not be copied.
  http_.respond(400, twilio_error(21211, 400, "Invalid 'To' Phone Number: +14155550100"));

  auto receipt = provider_.send(test_message());

  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kPermanent);
  EXPECT_FALSE(receipt.error().is_retryable());
  EXPECT_THAT(receipt.error().message, HasSubstr("21211"));
  EXPECT_THAT(receipt.error().message, HasSubstr("400"));
  EXPECT_THAT(receipt.error().message, HasSubstr("job-1"));
  expect_no_secrets(receipt.error());
}

TEST_F(TwilioSmsProviderTest, NotFoundIsPermanent) {
  http_.respond(404, twilio_error(20404, 404, "The requested resource was not found"));
  auto receipt = provider_.send(test_message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kPermanent);
  EXPECT_THAT(receipt.error().message, HasSubstr("20404"));
}

TEST_F(TwilioSmsProviderTest, BadCredentialsArePermanent) {
  for (long status : {401L, 403L}) {
    http_.respond(status, twilio_error(20003, static_cast<int>(status), "Authenticate"),
                  {{"WWW-Authenticate", R"(Basic realm="Twilio API")"}});
    auto receipt = provider_.send(test_message());
    ASSERT_FALSE(receipt.has_value());
    EXPECT_EQ(receipt.error().code, Errc::kPermanent);
    EXPECT_THAT(receipt.error().message, HasSubstr("credentials"));
    EXPECT_THAT(receipt.error().message, HasSubstr("20003"));
    expect_no_secrets(receipt.error());
  }
}

TEST_F(TwilioSmsProviderTest, TooManyRequestsIsRateLimitedAndHonoursRetryAfter) {
  // Header names are case-insensitive.
  http_.respond(429, twilio_error(20429, 429, "Too Many Requests"), {{"retry-after", "30"}});

  auto receipt = provider_.send(test_message());

  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kRateLimited);
  EXPECT_TRUE(receipt.error().is_retryable());
  EXPECT_EQ(retry_after(receipt.error()), seconds(30));
  EXPECT_THAT(receipt.error().message, HasSubstr("20429"));
  expect_no_secrets(receipt.error());
}

TEST_F(TwilioSmsProviderTest, TooManyRequestsWithoutRetryAfterHasNoDelay) {
  http_.respond(429, twilio_error(20429, 429, "Too Many Requests"));
  auto receipt = provider_.send(test_message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kRateLimited);
  EXPECT_EQ(retry_after(receipt.error()), std::nullopt);
}

TEST_F(TwilioSmsProviderTest, ServerErrorsAreUnavailable) {
  for (long status : {500L, 502L, 503L}) {
    http_.respond(status, "<html>bad gateway</html>");
    auto receipt = provider_.send(test_message());
    ASSERT_FALSE(receipt.has_value());
    EXPECT_EQ(receipt.error().code, Errc::kUnavailable) << status;
    EXPECT_THAT(receipt.error().message, HasSubstr(std::to_string(status)));
    EXPECT_THAT(receipt.error().message, Not(HasSubstr("html")));
  }
}

TEST_F(TwilioSmsProviderTest, RequestTimeoutStatusIsATimeout) {
  http_.respond(408, "");
  auto receipt = provider_.send(test_message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kTimeout);
}

TEST_F(TwilioSmsProviderTest, TransportErrorsKeepTheirClass) {
  http_.fail(Errc::kTimeout, "http POST https://twilio.test: Timeout was reached");
  http_.fail(Errc::kUnavailable, "http POST https://twilio.test: Couldn't connect to server");

  auto timed_out = provider_.send(test_message());
  auto refused = provider_.send(test_message());

  ASSERT_FALSE(timed_out.has_value());
  EXPECT_EQ(timed_out.error().code, Errc::kTimeout);
  EXPECT_THAT(timed_out.error().message, HasSubstr("Timeout was reached"));
  expect_no_secrets(timed_out.error());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kUnavailable);
}

TEST_F(TwilioSmsProviderTest, CreatedWithoutASidIsRetryable) {
  http_.respond(201, "not json");
  auto receipt = provider_.send(test_message());
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kUnavailable);
  EXPECT_THAT(receipt.error().message, Not(HasSubstr("not json")));
}

}  // namespace
}  // namespace otp::delivery
