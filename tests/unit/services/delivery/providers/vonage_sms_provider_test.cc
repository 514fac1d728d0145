// VonageSmsProvider against the SMS API's documented wire format
// (developer.vonage.com/en/api/sms, /en/api-errors/sms).

#include "services/delivery/providers/vonage_sms_provider.h"

#include "tests/support/recording_http_client.h"
#include "tests/unit/services/delivery/providers/provider_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace otp::delivery {
namespace {

using std::chrono::milliseconds;
using test_util::decode_form;
using test_util::response;
using ::testing::HasSubstr;
using ::testing::Not;

VonageConfig test_config() {
  return VonageConfig{.base_url = "https://vonage.test/",
                      .api_key = "abcd1234",
                      .api_secret = config::Secret("vonage-secret-xyz"),
                      .from = "AcmeInc",
                      .timeout = milliseconds(3000)};
}

OutboundMessage message(std::string body = "482913 is your Acme code.") {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_1",
                         .job_id = "job-7",
                         .channel = "sms",
                         .to = "+447700900123",
                         .body = std::move(body)};
}

std::string ok_reply() {
  return R"({"message-count":"1","messages":[{"to":"447700900123","message-id":"0A0000000123ABCD1",)"
         R"("status":"0","remaining-balance":"3.14159265","message-price":"0.03330000",)"
         R"("network":"23410","client-ref":"job-7"}]})";
}

std::string refused(const std::string& status) {
  return R"({"message-count":"1","messages":[{"status":")" + status +
         R"(","error-text":"Bad number +447700900123"}]})";
}

TEST(VonageSmsProvider, BuildsTheDocumentedFormRequest) {
  VonageSmsProvider provider(nullptr, test_config());
  auto request = provider.build_request(message());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->url, "https://vonage.test/sms/json");
  EXPECT_EQ(test_util::header(*request, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(request->timeout, milliseconds(3000));
  EXPECT_FALSE(request->basic_auth.has_value());
  const auto form = decode_form(request->body);
  EXPECT_EQ(form.at("api_key"), "abcd1234");
  EXPECT_EQ(form.at("api_secret"), "vonage-secret-xyz");
  EXPECT_EQ(form.at("from"), "AcmeInc");
  EXPECT_EQ(form.at("to"), "447700900123");  // E.164 without the +
  EXPECT_EQ(form.at("text"), "482913 is your Acme code.");
  EXPECT_EQ(form.at("client-ref"), "job-7");
  EXPECT_EQ(form.count("type"), 0U);  // GSM-7 text: the default "text" type
  EXPECT_EQ(form.size(), 6U);
}

TEST(VonageSmsProvider, UnicodeTextIsSentAsTypeUnicode) {
  VonageSmsProvider provider(nullptr, test_config());
  auto request = provider.build_request(message("Seu código Acme: 482913."));
  ASSERT_TRUE(request.has_value());
  const auto form = decode_form(request->body);
  EXPECT_EQ(form.at("type"), "unicode");
  EXPECT_EQ(form.at("text"), "Seu código Acme: 482913.");
}

TEST(VonageSmsProvider, TenantSenderNumberWinsAndLosesItsPlus) {
  VonageSmsProvider provider(nullptr, test_config());
  auto m = message();
  m.sender = "+447700900999";
  const auto form = decode_form(provider.build_request(m)->body);
  EXPECT_EQ(form.at("from"), "447700900999");
}

TEST(VonageSmsProvider, AcceptedReplyYieldsTheMessageId) {
  VonageSmsProvider provider(nullptr, test_config());
  auto receipt = provider.interpret(response(200, ok_reply()), milliseconds(42));
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->provider, "vonage");
  EXPECT_EQ(receipt->message_id, "0A0000000123ABCD1");
  EXPECT_EQ(receipt->latency, milliseconds(42));
}

TEST(VonageSmsProvider, MapsStatusCodesAsTheVonageDocsDescribe) {
  VonageSmsProvider provider(nullptr, test_config());
  const std::vector<std::pair<std::string, Errc>> cases = {
      {"1", Errc::kRateLimited}, {"5", Errc::kUnavailable}, {"10", Errc::kUnavailable},
      {"2", Errc::kPermanent},   {"3", Errc::kPermanent},   {"4", Errc::kPermanent},
      {"6", Errc::kPermanent},   {"7", Errc::kPermanent},   {"8", Errc::kPermanent},
      {"9", Errc::kPermanent},   {"15", Errc::kPermanent},  {"29", Errc::kPermanent},
  };
  for (const auto& [status, expected] : cases) {
    auto receipt = provider.interpret(response(200, refused(status)), milliseconds(1));
    ASSERT_FALSE(receipt.has_value()) << status;
    EXPECT_EQ(receipt.error().code, expected) << status;
    EXPECT_THAT(receipt.error().message, HasSubstr("vonage status " + status));
    EXPECT_THAT(receipt.error().message, Not(HasSubstr("447700900123")));
  }
}

TEST(VonageSmsProvider, ARefusedPartFailsTheWholeMessage) {
  VonageSmsProvider provider(nullptr, test_config());
  auto receipt = provider.interpret(
      response(200, R"({"message-count":"2","messages":[{"status":"0","message-id":"A"},)"
                    R"({"status":"1","error-text":"Throughput Rate Exceeded"}]})"),
      milliseconds(1));
  ASSERT_FALSE(receipt.has_value());
  EXPECT_EQ(receipt.error().code, Errc::kRateLimited);
}

TEST(VonageSmsProvider, HttpErrorsAndMalformedRepliesAreClassified) {
  VonageSmsProvider provider(nullptr, test_config());
  EXPECT_EQ(provider.interpret(response(500, "oops"), milliseconds(1)).error().code,
            Errc::kUnavailable);
  EXPECT_EQ(provider.interpret(response(401, ""), milliseconds(1)).error().code, Errc::kPermanent);
  auto limited = provider.interpret(response(429, "", {{"Retry-After", "4"}}), milliseconds(1));
  EXPECT_EQ(limited.error().code, Errc::kRateLimited);
  EXPECT_EQ(retry_after(limited.error()), std::chrono::seconds(4));
  EXPECT_EQ(provider.interpret(response(200, "not json"), milliseconds(1)).error().code,
            Errc::kUnavailable);
}

TEST(VonageSmsProvider, SynchronousSendGoesThroughTheHttpClient) {
  test::RecordingHttpClient http;
  http.respond(200, ok_reply());
  VonageSmsProvider provider(&http, test_config());
  auto receipt = provider.send(message());
  ASSERT_TRUE(receipt.has_value());
  ASSERT_EQ(http.requests().size(), 1U);
  EXPECT_EQ(http.requests()[0].url, "https://vonage.test/sms/json");
  http.respond(200, refused("7"));
  auto barred = provider.send(message());
  ASSERT_FALSE(barred.has_value());
  EXPECT_THAT(barred.error().message, HasSubstr("job job-7"));
  EXPECT_THAT(barred.error().message, Not(HasSubstr("vonage-secret-xyz")));
}

TEST(VonageSmsProvider, RejectsIncompleteConfiguration) {
  auto config = test_config();
  config.api_key.clear();
  EXPECT_THROW(VonageSmsProvider(nullptr, config), std::invalid_argument);
  config = test_config();
  config.from.clear();
  EXPECT_THROW(VonageSmsProvider(nullptr, config), std::invalid_argument);
}

}  // namespace
}  // namespace otp::delivery
