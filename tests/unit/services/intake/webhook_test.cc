// Provider webhooks: signatures against vectors computed outside this code base (Twilio's
// documented example; Python's hmac for Meta), and the handler end to end on an in-memory
// producer.
#include "common/messages/messages.h"
#include "services/intake/webhooks/form_body.h"
#include "services/intake/webhooks/signatures.h"
#include "services/intake/webhooks/webhook_handler.h"
#include "tests/support/fake_clock.h"
#include "tests/support/in_memory_producer.h"
#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

namespace otp::intake::webhooks {
namespace {

using intake::testing::ResponseRecorder;

constexpr char kTwilioUrl[] = "https://mycompany.com/myapp.php?foo=1&bar=2";
const std::vector<FormField> kTwilioParams = {{"To", "+18005551212"},
                                              {"CallSid", "CA1234567890ABCDE"},
                                              {"From", "+12349013030"},
                                              {"Caller", "+12349013030"},
                                              {"Digits", "1234"}};
// Twilio's published example (token 12345); also python3 hmac/sha1/base64.
constexpr char kTwilioExpected[] = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

constexpr char kMetaBody[] =
    R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.ABC","status":"delivered","timestamp":"1763769600","recipient_id":"14155552671"}]}}]}]})";
// python3: "sha256=" + hmac.new(b"meta-secret", body, hashlib.sha256).hexdigest()
constexpr char kMetaExpected[] =
    "sha256=b66bed4d4f12f2b0516d53c713732939a21d6bcfc95a1a0e3d7a38c3f4b2915d";

TEST(FormBody, DecodesPlusPercentAndKeepsOrder) {
  auto fields = parse_form("a=1+2&b=%2B1%20x&&c&d=");
  ASSERT_TRUE(fields.has_value());
  ASSERT_EQ(fields->size(), 4U);
  EXPECT_EQ((*fields)[0], FormField("a", "1 2"));
  EXPECT_EQ((*fields)[1], FormField("b", "+1 x"));
  EXPECT_EQ((*fields)[2], FormField("c", ""));
  EXPECT_EQ((*fields)[3], FormField("d", ""));
}

TEST(FormBody, RefusesBrokenEscapes) {
  EXPECT_FALSE(parse_form("a=%2").has_value());
  EXPECT_FALSE(parse_form("a=%zz").has_value());
  EXPECT_FALSE(parse_form("a=%").has_value());
}

TEST(TwilioSignature, MatchesTheDocumentedVector) {
  EXPECT_EQ(twilio_signature("12345", kTwilioUrl, kTwilioParams), kTwilioExpected);
  EXPECT_TRUE(twilio_signature_valid("12345", kTwilioUrl, kTwilioParams, kTwilioExpected));
}

TEST(TwilioSignature, RefusesTamperedInput) {
  auto params = kTwilioParams;
  params[4].second = "1235";
  EXPECT_FALSE(twilio_signature_valid("12345", kTwilioUrl, params, kTwilioExpected));
  EXPECT_FALSE(twilio_signature_valid("12346", kTwilioUrl, kTwilioParams, kTwilioExpected));
  EXPECT_FALSE(twilio_signature_valid("12345", "https://mycompany.com/myapp.php?foo=1",
                                      kTwilioParams, kTwilioExpected));
  EXPECT_FALSE(twilio_signature_valid("12345", kTwilioUrl, kTwilioParams, ""));
  EXPECT_FALSE(twilio_signature_valid("", kTwilioUrl, kTwilioParams, kTwilioExpected));
}

TEST(MetaSignature, MatchesPythonHmac) {
  EXPECT_EQ(meta_signature("meta-secret", kMetaBody), kMetaExpected);
  EXPECT_TRUE(meta_signature_valid("meta-secret", kMetaBody, kMetaExpected));
  std::string upper = kMetaExpected;
  for (std::size_t i = 7; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(meta_signature_valid("meta-secret", kMetaBody, upper));
}

TEST(MetaSignature, RefusesTamperedInput) {
  std::string body = kMetaBody;
  body[body.find("delivered")] = 'D';
  EXPECT_FALSE(meta_signature_valid("meta-secret", body, kMetaExpected));
  EXPECT_FALSE(meta_signature_valid("other", kMetaBody, kMetaExpected));
  // Without the prefix, or with another algorithm's.
  EXPECT_FALSE(
      meta_signature_valid("meta-secret", kMetaBody, std::string(kMetaExpected).substr(7)));
  EXPECT_FALSE(meta_signature_valid("meta-secret", kMetaBody,
                                    "sha1=" + std::string(kMetaExpected).substr(7)));
  EXPECT_FALSE(meta_signature_valid("", kMetaBody, kMetaExpected));
}

TEST(MetaStatuses, ReadsEveryStatusAndIgnoresMessages) {
  auto statuses = parse_meta_statuses(
      R"({"entry":[{"changes":[{"value":{"messages":[{"id":"m"}]}},{"value":{"statuses":[)"
      R"({"id":"wamid.1","status":"failed","timestamp":"1763769600","errors":[{"code":131026}]},)"
      R"({"id":"wamid.2","status":"READ"}]}}]}]})");
  ASSERT_TRUE(statuses.has_value());
  ASSERT_EQ(statuses->size(), 2U);
  EXPECT_EQ((*statuses)[0].provider, "meta");
  EXPECT_EQ((*statuses)[0].provider_message_id, "wamid.1");
  EXPECT_EQ((*statuses)[0].status, "failed");
  EXPECT_EQ((*statuses)[0].error_code, "131026");
  ASSERT_TRUE((*statuses)[0].reported_at.has_value());
  EXPECT_EQ(to_unix_ms(*(*statuses)[0].reported_at), 1'763'769'600'000);
  EXPECT_EQ((*statuses)[1].status, "read");
  EXPECT_FALSE((*statuses)[1].reported_at.has_value());
}

TEST(MetaStatuses, RefusesMalformedShapes) {
  EXPECT_FALSE(parse_meta_statuses("[]").has_value());
  EXPECT_FALSE(parse_meta_statuses("not json").has_value());
  EXPECT_FALSE(parse_meta_statuses(R"({"entry":{}})").has_value());
  EXPECT_FALSE(
      parse_meta_statuses(R"({"entry":[{"changes":[{"value":{"statuses":[{"status":"sent"}]}}]}]})")
          .has_value());
  EXPECT_TRUE(parse_meta_statuses(R"({"object":"x"})")->empty());
}

class WebhookHandlerTest : public ::testing::Test {
 protected:
  WebhookHandlerTest() {
    config_.twilio_auth_token = config::Secret("12345");
    config_.public_base_url = "https://otp.example.com";
    config_.meta_app_secret = config::Secret("meta-secret");
    config_.meta_verify_token = config::Secret("verify-me");
  }

  HttpRequest twilio_request(const std::string& body, const std::string& signature) {
    return HttpRequest{.method = "POST",
                       .path = "/webhooks/twilio/status",
                       .query = "",
                       .headers = {{"X-Twilio-Signature", signature}},
                       .body = body};
  }

  std::vector<messages::Event> events() {
    std::vector<messages::Event> out;
    for (const auto& record : producer_.records_for(topics_.events)) {
      auto event = messages::decode_event(record.value);
      EXPECT_TRUE(event.has_value()) << record.value;
      if (event) out.push_back(*event);
    }
    return out;
  }

  otp::testing::InMemoryProducer producer_;
  otp::testing::FakeClock clock_;
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  WebhookConfig config_;
  WebhookHandler handler_{producer_, clock_, topics_, config_};
  ResponseRecorder responses_;
};

TEST_F(WebhookHandlerTest, TwilioStatusBecomesOneEventWithoutThePhoneNumber) {
  const std::string body =
      "MessageSid=SM123&MessageStatus=undelivered&ErrorCode=30003&To=%2B14155552671&"
      "AccountSid=AC1";
  auto fields = parse_form(body);
  const auto signature =
      twilio_signature("12345", "https://otp.example.com/webhooks/twilio/status", *fields);
  handler_.twilio_status(twilio_request(body, signature), responses_.callback());
  ASSERT_EQ(responses_.count(), 1U);
  EXPECT_EQ(responses_.only().status, 200);
  auto published = events();
  ASSERT_EQ(published.size(), 1U);
  const auto& event = published[0];
  EXPECT_EQ(event.type, "delivery.status");
  EXPECT_EQ(event.tenant, kProviderTenant);
  EXPECT_EQ(event.data["provider"], "twilio");
  EXPECT_EQ(event.data["provider_message_id"], "SM123");
  EXPECT_EQ(event.data["status"], "undelivered");
  EXPECT_EQ(event.data["error_code"], "30003");
  EXPECT_EQ(producer_.records()[0].value.find("4155552671"), std::string::npos);

  // A replay makes the same event id; another status of the same message another one.
  handler_.twilio_status(twilio_request(body, signature), responses_.callback());
  const std::string delivered = "MessageSid=SM123&MessageStatus=delivered";
  handler_.twilio_status(
      twilio_request(delivered,
                     twilio_signature("12345", "https://otp.example.com/webhooks/twilio/status",
                                      *parse_form(delivered))),
      responses_.callback());
  published = events();
  ASSERT_EQ(published.size(), 3U);
  EXPECT_EQ(published[1].id, published[0].id);
  EXPECT_NE(published[2].id, published[0].id);
}

TEST_F(WebhookHandlerTest, TwilioSignatureCoversTheQueryAndTheWhatsappProvider) {
  const std::string body = "MessageSid=SM9&MessageStatus=read&To=whatsapp%3A%2B14155552671";
  auto request = twilio_request(body, twilio_signature("12345",
                                                       "https://otp.example.com/webhooks/twilio/"
                                                       "status?tenant=a",
                                                       *parse_form(body)));
  request.query = "tenant=a";
  handler_.twilio_status(request, responses_.callback());
  EXPECT_EQ(responses_.only().status, 200);
  ASSERT_EQ(events().size(), 1U);
  EXPECT_EQ(events()[0].data["provider"], "twilio-whatsapp");
}

TEST_F(WebhookHandlerTest, TwilioBadSignatureIsRefusedAndNothingPublished) {
  const std::string body = "MessageSid=SM123&MessageStatus=delivered";
  auto signature = twilio_signature("12345", "https://otp.example.com/webhooks/twilio/status",
                                    *parse_form(body));
  handler_.twilio_status(twilio_request(body + "&x=1", signature), responses_.callback());
  handler_.twilio_status(HttpRequest{.method = "POST",
                                     .path = "/webhooks/twilio/status",
                                     .query = "",
                                     .headers = {},
                                     .body = body},
                         responses_.callback());
  EXPECT_EQ(responses_.count(), 2U);
  EXPECT_EQ(responses_.only().status, 403);
  EXPECT_TRUE(producer_.records().empty());
}

TEST_F(WebhookHandlerTest, KafkaFailureIs503SoTheProviderRetries) {
  const std::string body = "MessageSid=SM1&MessageStatus=sent";
  producer_.hold_acks(true);
  handler_.twilio_status(
      twilio_request(body,
                     twilio_signature("12345", "https://otp.example.com/webhooks/twilio/status",
                                      *parse_form(body))),
      responses_.callback());
  EXPECT_EQ(responses_.count(), 0U);  // waits for the acknowledgement
  producer_.fail_all();
  EXPECT_EQ(responses_.only().status, 503);
}

TEST_F(WebhookHandlerTest, MetaStatusesArePublishedAfterTheSignatureCheck) {
  handler_.meta_status(HttpRequest{.method = "POST",
                                   .path = "/webhooks/meta",
                                   .query = "",
                                   .headers = {{"X-Hub-Signature-256", kMetaExpected}},
                                   .body = kMetaBody},
                       responses_.callback());
  EXPECT_EQ(responses_.only().status, 200);
  auto published = events();
  ASSERT_EQ(published.size(), 1U);
  EXPECT_EQ(published[0].data["provider"], "meta");
  EXPECT_EQ(published[0].data["provider_message_id"], "wamid.ABC");
  EXPECT_EQ(to_unix_ms(published[0].time), 1'763'769'600'000);
}

TEST_F(WebhookHandlerTest, MetaTamperedBodyIsRefused) {
  std::string body = kMetaBody;
  body.replace(body.find("delivered"), 9, "failed___");
  handler_.meta_status(HttpRequest{.method = "POST",
                                   .path = "/webhooks/meta",
                                   .query = "",
                                   .headers = {{"X-Hub-Signature-256", kMetaExpected}},
                                   .body = body},
                       responses_.callback());
  EXPECT_EQ(responses_.only().status, 403);
  EXPECT_TRUE(producer_.records().empty());
}

TEST_F(WebhookHandlerTest, MetaHandshakeEchoesTheChallengeOnlyForTheRightToken) {
  ResponseRecorder ok;
  handler_.meta_handshake(
      HttpRequest{.method = "GET",
                  .path = "/webhooks/meta",
                  .query = "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
                  .headers = {},
                  .body = ""},
      ok.callback());
  EXPECT_EQ(ok.only().status, 200);
  EXPECT_EQ(ok.only().body, "1158201444");
  ResponseRecorder wrong;
  handler_.meta_handshake(
      HttpRequest{.method = "GET",
                  .path = "/webhooks/meta",
                  .query = "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444",
                  .headers = {},
                  .body = ""},
      wrong.callback());
  EXPECT_EQ(wrong.only().status, 403);
}

}  // namespace
}  // namespace otp::intake::webhooks
