// DeliveryConfig: the provider names each channel accepts and the credentials block of each.

#include "services/delivery/delivery_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace otp::delivery {
namespace {

using ::testing::HasSubstr;

Result<DeliveryConfig> load(const std::string& channel, std::map<std::string, std::string> vars) {
  vars.emplace("OTP_SEAL_KEYS", "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=");
  vars.emplace("OTP_KAFKA_BROKERS", "127.0.0.1:9092");
  return DeliveryConfig::from_env(
      channel, config::EnvReader([vars](const std::string& key) {
        auto found = vars.find(key);
        return found == vars.end() ? std::nullopt : std::optional<std::string>(found->second);
      }));
}

TEST(DeliveryConfigProviders, EachChannelAcceptsItsOwnProvidersOnly) {
  EXPECT_THAT(load("email", {{"OTP_EMAIL_PROVIDER", "vonage"}}).error().message,
              HasSubstr("unknown provider vonage"));
  EXPECT_THAT(load("sms", {{"OTP_SMS_PROVIDER", "meta"}}).error().message,
              HasSubstr("unknown provider meta"));
  EXPECT_THAT(load("whatsapp", {{"OTP_WHATSAPP_PROVIDER", "resend"}}).error().message,
              HasSubstr("unknown provider resend"));
}

TEST(DeliveryConfigProviders, ReadsEveryCredentialOfTheListedProviders) {
  auto sms = load("sms", {{"OTP_SMS_PROVIDER", "vonage"},
                          {"OTP_VONAGE_API_KEY", "k"},
                          {"OTP_VONAGE_API_SECRET", "s"},
                          {"OTP_VONAGE_FROM", "Acme"},
                          {"OTP_PROVIDER_TIMEOUT_MS", "1500"}});
  ASSERT_TRUE(sms.has_value()) << sms.error().message;
  EXPECT_EQ(sms->vonage.base_url, "https://rest.nexmo.com");
  EXPECT_EQ(sms->vonage.api_key, "k");
  EXPECT_EQ(sms->vonage.api_secret.reveal(), "s");
  EXPECT_EQ(sms->vonage.timeout, std::chrono::milliseconds(1500));

  auto email = load("email", {{"OTP_EMAIL_PROVIDER", "smtp,resend"},
                              {"OTP_SMTP_URL", "smtp://127.0.0.1:2525"},
                              {"OTP_SMTP_FROM", "a@b.example"},
                              {"OTP_SMTP_REQUIRE_TLS", "false"},
                              {"OTP_RESEND_API_KEY", "re_x"},
                              {"OTP_RESEND_FROM", "a@b.example"},
                              {"OTP_PG_URL", "postgresql://x"},
                              {"OTP_TEMPLATE_REFRESH_MS", "2000"}});
  ASSERT_TRUE(email.has_value()) << email.error().message;
  EXPECT_EQ(email->providers, (std::vector<std::string>{"smtp", "resend"}));
  EXPECT_FALSE(email->smtp.require_tls);
  EXPECT_EQ(email->resend.api_key.reveal(), "re_x");
  EXPECT_EQ(email->templates_pg_url.reveal(), "postgresql://x");
  EXPECT_EQ(email->template_refresh, std::chrono::milliseconds(2000));

  auto whatsapp = load("whatsapp", {{"OTP_WHATSAPP_PROVIDER", "meta,twilio-whatsapp"},
                                    {"OTP_META_PHONE_NUMBER_ID", "1"},
                                    {"OTP_META_ACCESS_TOKEN", "t"},
                                    {"OTP_TWILIO_ACCOUNT_SID", "AC1"},
                                    {"OTP_TWILIO_AUTH_TOKEN", "tt"},
                                    {"OTP_TWILIO_WHATSAPP_FROM", "+14155238886"}});
  ASSERT_TRUE(whatsapp.has_value()) << whatsapp.error().message;
  EXPECT_EQ(whatsapp->meta.template_name, "otp_code");
  EXPECT_EQ(whatsapp->twilio_whatsapp_from, "+14155238886");
  EXPECT_TRUE(whatsapp->templates_pg_url.empty());
}

TEST(DeliveryConfigProviders, MissingCredentialsAreNamed) {
  auto missing = load("email", {{"OTP_EMAIL_PROVIDER", "smtp"}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("OTP_SMTP_URL"));
  EXPECT_THAT(missing.error().message, HasSubstr("OTP_SMTP_FROM"));
  auto meta = load("whatsapp", {{"OTP_WHATSAPP_PROVIDER", "meta"}});
  EXPECT_THAT(meta.error().message, HasSubstr("OTP_META_ACCESS_TOKEN"));
}

}  // namespace
}  // namespace otp::delivery
