// ResendEmailProvider against resend.com/docs/api-reference/emails/send-email and /errors.

#include "services/delivery/providers/resend_email_provider.h"

#include "tests/unit/services/delivery/providers/provider_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

namespace otp::delivery {
namespace {

using std::chrono::milliseconds;
using test_util::response;
using ::testing::HasSubstr;
using ::testing::Not;

ResendConfig test_config() {
  return ResendConfig{.base_url = "https://resend.test",
                      .api_key = config::Secret("re_secret_123"),
                      .from = "Acme <no-reply@acme.example>",
                      .timeout = milliseconds(4000)};
}

OutboundMessage message() {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_1",
                         .job_id = "job-9",
                         .channel = "email",
                         .to = "ana@example.com",
                         .body = "<p>Your code is <strong>482913</strong></p>",
                         .subject = "Your Acme verification code",
                         .text = "Your code is 482913"};
}

std::string error_body(int status, const std::string& name) {
  return R"({"statusCode":)" + std::to_string(status) + R"(,"name":")" + name +
         R"(","message":"Invalid `to` field: ana@example.com"})";
}

TEST(ResendEmailProvider, BuildsTheDocumentedJsonRequest) {
  ResendEmailProvider provider(nullptr, test_config());
  auto request = provider.build_request(message());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->url, "https://resend.test/emails");
  EXPECT_EQ(test_util::header(*request, "Authorization"), "Bearer re_secret_123");
  EXPECT_EQ(test_util::header(*request, "Content-Type"), "application/json");
  EXPECT_EQ(test_util::header(*request, "Idempotency-Key"), "job-9");
  EXPECT_EQ(request->timeout, milliseconds(4000));
  const auto json = nlohmann::json::parse(request->body);
  EXPECT_EQ(json.at("from"), "Acme <no-reply@acme.example>");
  EXPECT_EQ(json.at("to"), nlohmann::json::array({"ana@example.com"}));
  EXPECT_EQ(json.at("subject"), "Your Acme verification code");
  EXPECT_EQ(json.at("html"), "<p>Your code is <strong>482913</strong></p>");
  EXPECT_EQ(json.at("text"), "Your code is 482913");
  EXPECT_EQ(json.size(), 5U);
}

TEST(ResendEmailProvider, TenantSenderReplacesTheConfiguredFrom) {
  ResendEmailProvider provider(nullptr, test_config());
  auto m = message();
  m.sender = "Globex <codes@globex.example>";
  m.text.clear();
  const auto json = nlohmann::json::parse(provider.build_request(m)->body);
  EXPECT_EQ(json.at("from"), "Globex <codes@globex.example>");
  EXPECT_FALSE(json.contains("text"));
}

TEST(ResendEmailProvider, ReplyIdIsTheReceipt) {
  ResendEmailProvider provider(nullptr, test_config());
  auto receipt = provider.interpret(
      response(200, R"({"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"})"), milliseconds(7));
  ASSERT_TRUE(receipt.has_value());
  EXPECT_EQ(receipt->provider, "resend");
  EXPECT_EQ(receipt->message_id, "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794");
  EXPECT_EQ(receipt->latency, milliseconds(7));
}

TEST(ResendEmailProvider, ErrorsAreClassifiedByStatusAndName) {
  ResendEmailProvider provider(nullptr, test_config());
  struct Case {
    long status;
    std::string name;
    Errc expected;
  };
  const std::vector<Case> cases = {
      {422, "validation_error", Errc::kPermanent},
      {400, "validation_error", Errc::kPermanent},
      {401, "missing_api_key", Errc::kPermanent},
      {403, "invalid_api_key", Errc::kPermanent},
      {429, "rate_limit_exceeded", Errc::kRateLimited},
      {429, "daily_quota_exceeded", Errc::kPermanent},
      {429, "monthly_quota_exceeded", Errc::kPermanent},
      {409, "concurrent_idempotent_requests", Errc::kUnavailable},
      {500, "application_error", Errc::kUnavailable},
  };
  for (const auto& c : cases) {
    auto receipt =
        provider.interpret(response(c.status, error_body(c.status, c.name)), milliseconds(1));
    ASSERT_FALSE(receipt.has_value()) << c.name;
    EXPECT_EQ(receipt.error().code, c.expected) << c.status << " " << c.name;
    EXPECT_THAT(receipt.error().message, HasSubstr(c.name));
    EXPECT_THAT(receipt.error().message, Not(HasSubstr("ana@example.com")));
  }
  auto limited = provider.interpret(
      response(429, error_body(429, "rate_limit_exceeded"), {{"retry-after", "2"}}),
      milliseconds(1));
  EXPECT_EQ(retry_after(limited.error()), std::chrono::seconds(2));
  EXPECT_EQ(provider.interpret(response(200, "{}"), milliseconds(1)).error().code,
            Errc::kUnavailable);
}

TEST(ResendEmailProvider, RejectsIncompleteConfiguration) {
  auto config = test_config();
  config.api_key = config::Secret("");
  EXPECT_THROW(ResendEmailProvider(nullptr, config), std::invalid_argument);
}

}  // namespace
}  // namespace otp::delivery
