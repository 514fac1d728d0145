// Vonage, Resend, Meta WhatsApp and Twilio WhatsApp providers over a real HTTP client (libcurl)
// against tests/support/fake_providers/fake_providers.py, which speaks each API's wire format.

#include "common/http/curl_http_client.h"
#include "services/delivery/providers/meta_whatsapp_provider.h"
#include "services/delivery/providers/resend_email_provider.h"
#include "services/delivery/providers/twilio_sms_provider.h"
#include "services/delivery/providers/vonage_sms_provider.h"
#include "tests/support/fake_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr const char* kAccountSid = "AC9f0e1d2c3b4a59687766554433221100";

class HttpProvidersIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = test::FakeProviders::start(
        (std::filesystem::path(OTP_TEST_LOG_DIR) / "fake_providers.log").string(),
        {"--account-sid", kAccountSid, "--auth-token", "tw-token", "--vonage-key", "vk",
         "--vonage-secret", "vs", "--resend-key", "re_it", "--meta-token", "meta-it",
         "--meta-phone-number-id", "123456789012345"});
    ASSERT_TRUE(started.has_value()) << started.error().message;
    fake_ = std::make_unique<test::FakeProviders>(std::move(*started));
  }
  static void TearDownTestSuite() { fake_.reset(); }
  void SetUp() override {
    ASSERT_NE(fake_, nullptr);
    fake_->reset();
  }

  static OutboundMessage message(std::string channel, std::string to, std::string body) {
    return OutboundMessage{.tenant = "it",
                           .verification_id = "otp_it",
                           .job_id = "job-it-1",
                           .channel = std::move(channel),
                           .to = std::move(to),
                           .body = std::move(body),
                           .subject = "Your Acme code",
                           .text = "Your code is 482913",
                           .code = "482913",
                           .locale = "es",
                           .expires_in = std::chrono::minutes(10)};
  }

  VonageSmsProvider vonage(std::string secret = "vs") {
    return VonageSmsProvider(&http_, VonageConfig{.base_url = fake_->base_url(),
                                                  .api_key = "vk",
                                                  .api_secret = config::Secret(std::move(secret)),
                                                  .from = "Acme",
                                                  .timeout = 5s});
  }
  ResendEmailProvider resend() {
    return ResendEmailProvider(&http_, ResendConfig{.base_url = fake_->base_url(),
                                                    .api_key = config::Secret("re_it"),
                                                    .from = "Acme <codes@acme.example>",
                                                    .timeout = 5s});
  }
  MetaWhatsAppProvider meta() {
    MetaWhatsAppConfig config;
    config.base_url = fake_->base_url();
    config.phone_number_id = "123456789012345";
    config.access_token = config::Secret("meta-it");
    config.template_name = "acme_otp";
    config.timeout = 5s;
    return MetaWhatsAppProvider(&http_, config);
  }

  static inline std::unique_ptr<test::FakeProviders> fake_;
  http::CurlHttpClient http_;
};

TEST_F(HttpProvidersIntegrationTest, VonageSendsGsmAndUnicodeTexts) {
  auto provider = vonage();
  auto plain = provider.send(message("sms", "+447700900123", "482913 is your Acme code."));
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_TRUE(std::regex_match(plain->message_id, std::regex("[0-9A-F]{16}")));
  auto unicode = provider.send(message("sms", "+447700900123", "Seu código Acme: 482913."));
  ASSERT_TRUE(unicode.has_value()) << unicode.error().message;

  const auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 2U);
  EXPECT_EQ(recorded[0]["provider"], "vonage");
  EXPECT_EQ(recorded[0]["path"], "/sms/json");
  EXPECT_EQ(recorded[0]["form"]["to"], "447700900123");
  EXPECT_EQ(recorded[0]["form"]["from"], "Acme");
  EXPECT_EQ(recorded[0]["form"]["api_key"], "vk");
  EXPECT_EQ(recorded[0]["form"]["client-ref"], "job-it-1");
  EXPECT_FALSE(recorded[0]["form"].contains("type"));
  EXPECT_EQ(recorded[1]["form"]["type"], "unicode");
  EXPECT_EQ(recorded[1]["form"]["text"], "Seu código Acme: 482913.");
}

TEST_F(HttpProvidersIntegrationTest, VonageRefusalsAndThrottlingAreClassified) {
  auto wrong = vonage("wrong").send(message("sms", "+447700900123", "482913"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, Errc::kPermanent);
  EXPECT_THAT(wrong.error().message, HasSubstr("vonage status 4"));

  fake_->behave({{"provider", "vonage"}, {"vonage_statuses", {"1", "5"}}});
  auto provider = vonage();
  EXPECT_EQ(provider.send(message("sms", "+447700900123", "1")).error().code, Errc::kRateLimited);
  EXPECT_EQ(provider.send(message("sms", "+447700900123", "2")).error().code, Errc::kUnavailable);
  EXPECT_TRUE(provider.send(message("sms", "+447700900123", "3")).has_value());
}

TEST_F(HttpProvidersIntegrationTest, ResendSendsJsonAndHonoursIdempotency) {
  auto provider = resend();
  auto first = provider.send(message("email", "ana@example.com", "<p>482913</p>"));
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_TRUE(std::regex_match(first->message_id, std::regex("[0-9a-f-]{36}")));
  // The same job again (a retry) gets the same id back: Resend does not send it twice.
  auto again = provider.send(message("email", "ana@example.com", "<p>482913</p>"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->message_id, first->message_id);

  const auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 2U);
  const auto& json = recorded[0]["json"];
  EXPECT_EQ(recorded[0]["path"], "/emails");
  EXPECT_EQ(recorded[0]["headers"]["Authorization"], "Bearer ***");
  EXPECT_EQ(recorded[0]["headers"]["Idempotency-Key"], "job-it-1");
  EXPECT_EQ(json["from"], "Acme <codes@acme.example>");
  EXPECT_EQ(json["to"], nlohmann::json::array({"ana@example.com"}));
  EXPECT_EQ(json["subject"], "Your Acme code");
  EXPECT_EQ(json["html"], "<p>482913</p>");
  EXPECT_EQ(json["text"], "Your code is 482913");
}

TEST_F(HttpProvidersIntegrationTest, ResendRateLimitCarriesRetryAfterAndBadAddressIsPermanent) {
  fake_->behave({{"provider", "resend"}, {"statuses", {429}}, {"retry_after", 3}});
  auto provider = resend();
  auto limited = provider.send(message("email", "ana@example.com", "x"));
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, Errc::kRateLimited);
  EXPECT_EQ(retry_after(limited.error()), 3s);
  auto bad = provider.send(message("email", "not-an-address", "x"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::kPermanent);
  EXPECT_THAT(bad.error().message, HasSubstr("validation_error"));
}

TEST_F(HttpProvidersIntegrationTest, MetaSendsTheAuthenticationTemplate) {
  auto provider = meta();
  auto receipt = provider.send(message("whatsapp", "+5511987654321", "unused"));
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_THAT(receipt->message_id, ::testing::StartsWith("wamid."));
  const auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 1U);
  EXPECT_EQ(recorded[0]["path"], "/v21.0/123456789012345/messages");
  const auto& tpl = recorded[0]["json"]["template"];
  EXPECT_EQ(tpl["name"], "acme_otp");
  EXPECT_EQ(tpl["language"]["code"], "es");
  EXPECT_EQ(tpl["components"][0]["parameters"][0]["text"], "482913");
  EXPECT_EQ(tpl["components"][1]["sub_type"], "url");

  fake_->behave({{"provider", "meta"}, {"statuses", {429, 503}}, {"retry_after", 2}});
  auto limited = provider.send(message("whatsapp", "+5511987654321", "unused"));
  EXPECT_EQ(limited.error().code, Errc::kRateLimited);
  EXPECT_EQ(retry_after(limited.error()), 2s);
  EXPECT_EQ(provider.send(message("whatsapp", "+5511987654321", "unused")).error().code,
            Errc::kUnavailable);
  // Only meta misbehaved: Vonage is served normally meanwhile.
  EXPECT_TRUE(vonage().send(message("sms", "+447700900123", "ok")).has_value());
}

TEST_F(HttpProvidersIntegrationTest, TwilioWhatsAppUsesWhatsAppAddresses) {
  TwilioConfig config;
  config.base_url = fake_->base_url();
  config.account_sid = kAccountSid;
  config.auth_token = config::Secret("tw-token");
  config.from = "+14155238886";
  config.whatsapp = true;
  TwilioWhatsAppProvider provider(http_, config);
  auto receipt = provider.send(message("whatsapp", "+5511987654321", "482913 es tu código"));
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->provider, "twilio-whatsapp");
  const auto recorded = fake_->requests();
  ASSERT_EQ(recorded.size(), 1U);
  EXPECT_EQ(recorded[0]["form"]["To"], "whatsapp:+5511987654321");
  EXPECT_EQ(recorded[0]["form"]["From"], "whatsapp:+14155238886");
}

}  // namespace
}  // namespace otp::delivery
