// Twilio's Messages API in WhatsApp mode (twilio.com/docs/whatsapp/api): `whatsapp:` addresses,
// Body or an approved Content template (ContentSid + ContentVariables); and the pure halves.

#include "services/delivery/providers/twilio_sms_provider.h"
#include "tests/unit/services/delivery/providers/provider_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::delivery {
namespace {

using std::chrono::milliseconds;
using test_util::decode_form;

TwilioConfig whatsapp_config() {
  TwilioConfig config;
  config.base_url = "https://twilio.test";
  config.account_sid = "AC11111111111111111111111111111111";
  config.auth_token = config::Secret("token");
  config.from = "+14155238886";
  config.whatsapp = true;
  return config;
}

OutboundMessage message() {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_1",
                         .job_id = "job-w",
                         .channel = "whatsapp",
                         .to = "+5511987654321",
                         .body = "482913 is your Acme verification code.",
                         .code = "482913"};
}

TEST(TwilioWhatsAppProvider, AddressesAreWhatsAppPrefixed) {
  TwilioWhatsAppProvider provider(whatsapp_config());
  EXPECT_EQ(provider.name(), "twilio-whatsapp");
  EXPECT_EQ(provider.channel(), "whatsapp");
  auto request = provider.build_request(message());
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->url,
            "https://twilio.test/2010-04-01/Accounts/AC11111111111111111111111111111111/"
            "Messages.json");
  ASSERT_TRUE(request->basic_auth.has_value());
  EXPECT_EQ(request->basic_auth->first, "AC11111111111111111111111111111111");
  const auto form = decode_form(request->body);
  EXPECT_EQ(form.at("To"), "whatsapp:+5511987654321");
  EXPECT_EQ(form.at("From"), "whatsapp:+14155238886");
  EXPECT_EQ(form.at("Body"), "482913 is your Acme verification code.");
  EXPECT_EQ(form.size(), 3U);
}

TEST(TwilioWhatsAppProvider, ContentTemplateCarriesTheCodeAsVariableOne) {
  auto config = whatsapp_config();
  config.content_sid = "HXb5b62575e6e4ff6129ad7c8efe1f983e";
  TwilioWhatsAppProvider provider(config);
  const auto form = decode_form(provider.build_request(message())->body);
  EXPECT_EQ(form.at("ContentSid"), "HXb5b62575e6e4ff6129ad7c8efe1f983e");
  EXPECT_EQ(nlohmann::json::parse(form.at("ContentVariables")), nlohmann::json({{"1", "482913"}}));
  EXPECT_EQ(form.count("Body"), 0U);
}

TEST(TwilioSmsProviderHalves, TenantSenderIsSentAsFromInsteadOfTheMessagingService) {
  TwilioConfig config = whatsapp_config();
  config.whatsapp = false;
  config.messaging_service_sid = "MG123";
  TwilioSmsProvider provider(config);
  auto m = message();
  m.sender = "ACME";
  const auto form = decode_form(provider.build_request(m)->body);
  EXPECT_EQ(form.at("From"), "ACME");
  EXPECT_EQ(form.count("MessagingServiceSid"), 0U);
  EXPECT_EQ(form.at("To"), "+5511987654321");
}

TEST(TwilioSmsProviderHalves, InterpretIsPureAndUsesTheGivenElapsed) {
  TwilioSmsProvider provider(whatsapp_config());
  auto receipt = provider.interpret(test_util::response(201, R"({"sid":"SM1"})"), milliseconds(77));
  ASSERT_TRUE(receipt.has_value());
  EXPECT_EQ(receipt->latency, milliseconds(77));
  EXPECT_EQ(receipt->provider, "twilio-whatsapp");
  // Without an HttpClient, the synchronous adapter refuses cleanly.
  auto sent = provider.send(message());
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().code, Errc::kInternal);
}

}  // namespace
}  // namespace otp::delivery
