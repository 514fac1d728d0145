// MetaWhatsAppProvider against the Cloud API's authentication-template send
// (developers.facebook.com/docs/whatsapp/business-management-api/authentication-templates).

#include "services/delivery/providers/meta_whatsapp_provider.h"

#include "tests/support/recording_http_client.h"
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

MetaWhatsAppConfig test_config() {
  MetaWhatsAppConfig config;
  config.base_url = "https://graph.test";
  config.api_version = "v21.0";
  config.phone_number_id = "106540352242922";
  config.access_token = config::Secret("EAAJB-token");
  config.template_name = "acme_otp";
  return config;
}

OutboundMessage message(std::string locale = "pt") {
  return OutboundMessage{.tenant = "acme",
                         .verification_id = "otp_1",
                         .job_id = "job-3",
                         .channel = "whatsapp",
                         .to = "+5511987654321",
                         .body = "ignored for templates",
                         .code = "482913",
                         .locale = std::move(locale),
                         .expires_in = std::chrono::minutes(10)};
}

std::string graph_error(int code) {
  return R"({"error":{"message":"(#)" + std::to_string(code) +
         R"() Recipient +5511987654321 is not valid","type":"OAuthException","code":)" +
         std::to_string(code) +
         R"(,"error_subcode":2494010,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}})";
}

TEST(MetaWhatsAppProvider, SendsTheAuthenticationTemplateWithTheCodeInBodyAndCopyButton) {
  MetaWhatsAppProvider provider(nullptr, test_config());
  auto request = provider.build_request(message());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->url, "https://graph.test/v21.0/106540352242922/messages");
  EXPECT_EQ(test_util::header(*request, "Authorization"), "Bearer EAAJB-token");
  EXPECT_EQ(test_util::header(*request, "Content-Type"), "application/json");
  const auto expected = nlohmann::json::parse(R"({
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "+5511987654321",
    "type": "template",
    "template": {
      "name": "acme_otp",
      "language": {"code": "pt_BR"},
      "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0",
         "parameters": [{"type": "text", "text": "482913"}]}
      ]
    }
  })");
  EXPECT_EQ(nlohmann::json::parse(request->body), expected);
}

TEST(MetaWhatsAppProvider, LanguageCodesFollowTheLocale) {
  MetaWhatsAppProvider provider(nullptr, test_config());
  EXPECT_EQ(provider.language_for("en"), "en_US");
  EXPECT_EQ(provider.language_for("es"), "es");
  EXPECT_EQ(provider.language_for("pt-BR"), "pt_BR");
  EXPECT_EQ(provider.language_for("de-AT"), "de");
  EXPECT_EQ(provider.language_for("hi"), "hi");
  EXPECT_EQ(provider.language_for("ja"), "en_US");
}

TEST(MetaWhatsAppProvider, WithoutTheCodeTheRequestIsRefused) {
  MetaWhatsAppProvider provider(nullptr, test_config());
  auto m = message();
  m.code.clear();
  auto request = provider.build_request(m);
  ASSERT_FALSE(request.has_value());
  EXPECT_EQ(request.error().code, Errc::kPermanent);
}

TEST(MetaWhatsAppProvider, AcceptedReplyYieldsTheWamid) {
  MetaWhatsAppProvider provider(nullptr, test_config());
  auto receipt = provider.interpret(
      response(
          200,
          R"({"messaging_product":"whatsapp","contacts":[{"input":"+5511987654321",)"
          R"("wa_id":"5511987654321"}],"messages":[{"id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]})"),
      milliseconds(9));
  ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
  EXPECT_EQ(receipt->provider, "meta");
  EXPECT_EQ(receipt->message_id, "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA");
}

TEST(MetaWhatsAppProvider, GraphErrorCodesAreClassified) {
  MetaWhatsAppProvider provider(nullptr, test_config());
  const std::vector<std::pair<int, Errc>> cases = {
      {130429, Errc::kRateLimited}, {131056, Errc::kRateLimited}, {80007, Errc::kRateLimited},
      {131000, Errc::kUnavailable}, {131016, Errc::kUnavailable}, {190, Errc::kPermanent},
      {131026, Errc::kPermanent},   {131030, Errc::kPermanent},   {132001, Errc::kPermanent},
      {100, Errc::kPermanent},
  };
  for (const auto& [code, expected] : cases) {
    auto receipt = provider.interpret(response(400, graph_error(code)), milliseconds(1));
    ASSERT_FALSE(receipt.has_value()) << code;
    EXPECT_EQ(receipt.error().code, expected) << code;
    EXPECT_THAT(receipt.error().message, HasSubstr("meta code " + std::to_string(code)));
    EXPECT_THAT(receipt.error().message, Not(HasSubstr("5511987654321")));
  }
  EXPECT_EQ(
      provider.interpret(response(502, "<html>bad gateway</html>"), milliseconds(1)).error().code,
      Errc::kUnavailable);
}

TEST(MetaWhatsAppProvider, SynchronousSendRecordsOneRequest) {
  test::RecordingHttpClient http;
  http.respond(200, R"({"messages":[{"id":"wamid.X"}]})");
  MetaWhatsAppProvider provider(&http, test_config());
  auto receipt = provider.send(message("en"));
  ASSERT_TRUE(receipt.has_value());
  ASSERT_EQ(http.requests().size(), 1U);
  const auto body = nlohmann::json::parse(http.requests()[0].body);
  EXPECT_EQ(body["template"]["language"]["code"], "en_US");
}

TEST(MetaWhatsAppProvider, RejectsIncompleteConfiguration) {
  auto config = test_config();
  config.phone_number_id.clear();
  EXPECT_THROW(MetaWhatsAppProvider(nullptr, config), std::invalid_argument);
}

}  // namespace
}  // namespace otp::delivery
