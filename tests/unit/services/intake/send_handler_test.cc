#include "services/intake/handlers/send_handler.h"

#include "common/messages/messages.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

namespace otp::intake {
namespace {

using nlohmann::json;
using testing::FakeRequestPublisher;
using testing::ResponseRecorder;

const Tenant kTenant{.id = "acme", .key_id = "key-1", .scopes = kAllScopes};

json valid_body() { return {{"appid", "acme"}, {"recipient", "+14155552671"}, {"channel", "sms"}}; }

json with(json body, const std::string& key, json value) {
  body[key] = std::move(value);
  return body;
}

json without(json body, const std::string& key) {
  body.erase(key);
  return body;
}

struct Rejection {
  std::string name;
  json body;
  int status;
  std::string code;
  std::string message_part;  // the field the message must name
};

class SendRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(SendRejects, WithTheRightErrorAndPublishesNothing) {
  const auto& rejection = GetParam();
  FakeRequestPublisher publisher;
  test::SeededRng rng;
  otp::testing::FakeClock clock;
  const auto topics = messages::Topics::with_prefix("t.");
  SendHandler handler(publisher, rng, clock, topics);
  ResponseRecorder responses;

  handler.handle(kTenant, rejection.body, responses.callback());

  ASSERT_EQ(responses.count(), 1U);
  EXPECT_EQ(responses.only().status, rejection.status);
  auto body = responses.only_body();
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["error"]["code"], rejection.code);
  EXPECT_NE(body["error"]["message"].get<std::string>().find(rejection.message_part),
            std::string::npos)
      << body.dump();
  EXPECT_EQ(responses.only().header("Content-Type"), "application/json");
  EXPECT_TRUE(publisher.published().empty());
}

INSTANTIATE_TEST_SUITE_P(
    SendHandler, SendRejects,
    ::testing::Values(
        Rejection{"missing_appid", without(valid_body(), "appid"), 400, "invalid_request", "appid"},
        Rejection{"numeric_appid", with(valid_body(), "appid", 7), 400, "invalid_request", "appid"},
        Rejection{"other_tenant", with(valid_body(), "appid", "globex"), 403, "forbidden", "appid"},
        Rejection{"missing_recipient", without(valid_body(), "recipient"), 400, "invalid_request",
                  "recipient"},
        Rejection{"null_recipient", with(valid_body(), "recipient", nullptr), 400,
                  "invalid_request", "recipient"},
        Rejection{"array_recipient", with(valid_body(), "recipient", json::array({"+1"})), 400,
                  "invalid_request", "recipient"},
        Rejection{"empty_recipient", with(valid_body(), "recipient", ""), 400, "invalid_request",
                  "recipient"},
        Rejection{"missing_channel", without(valid_body(), "channel"), 400, "invalid_request",
                  "channel"},
        Rejection{"object_channel", with(valid_body(), "channel", json::object()), 400,
                  "invalid_request", "channel"},
        Rejection{"unknown_channel", with(valid_body(), "channel", "fax"), 400,
                  "unsupported_channel", "channel"},
        Rejection{"upper_case_channel", with(valid_body(), "channel", "SMS"), 400,
                  "unsupported_channel", "channel"},
        Rejection{"numeric_from", with(valid_body(), "from", 12), 400, "invalid_request", "from"},
        Rejection{"numeric_locale", with(valid_body(), "locale", 1), 400, "invalid_request",
                  "locale"},
        Rejection{"bad_locale", with(valid_body(), "locale", "english!"), 400, "invalid_request",
                  "locale"},
        Rejection{"no_plus", with(valid_body(), "recipient", "14155552671"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"too_short", with(valid_body(), "recipient", "+1415555"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"no_such_country", with(valid_body(), "recipient", "+99912345678"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"letters", with(valid_body(), "recipient", "+1415555FLOW"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"email_on_sms", with(valid_body(), "recipient", "ana@example.com"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"phone_on_email",
                  with(with(valid_body(), "channel", "email"), "recipient", "+14155552671"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"bad_email",
                  with(with(valid_body(), "channel", "email"), "recipient", "ana@@example.com"),
                  400, "invalid_recipient", "recipient"},
        Rejection{"bad_whatsapp",
                  with(with(valid_body(), "channel", "whatsapp"), "recipient", "+1"), 400,
                  "invalid_recipient", "recipient"},
        Rejection{"from_with_newline", with(valid_body(), "from", "Acme\r\nBcc: x"), 400,
                  "invalid_request", "from"},
        Rejection{"long_from", with(valid_body(), "from", std::string(65, 'a')), 400,
                  "invalid_request", "from"},
        Rejection{"numeric_template", with(valid_body(), "template", 3), 400, "invalid_request",
                  "template"},
        Rejection{"template_path", with(valid_body(), "template", "../etc/passwd"), 400,
                  "invalid_request", "template"},
        Rejection{"string_code_length", with(valid_body(), "code_length", "6"), 400,
                  "invalid_request", "code_length"},
        Rejection{"float_code_length", with(valid_body(), "code_length", 6.5), 400,
                  "invalid_request", "code_length"},
        Rejection{"bool_code_length", with(valid_body(), "code_length", true), 400,
                  "invalid_request", "code_length"},
        Rejection{"short_code_length", with(valid_body(), "code_length", 3), 400, "invalid_request",
                  "code_length"},
        Rejection{"huge_code_length", with(valid_body(), "code_length", 18446744073709551615ULL),
                  400, "invalid_request", "code_length"},
        Rejection{"negative_ttl", with(valid_body(), "ttl", -1), 400, "invalid_request", "ttl"},
        Rejection{"long_ttl", with(valid_body(), "ttl", 86401), 400, "invalid_request", "ttl"},
        Rejection{"sql_purpose", with(valid_body(), "purpose", "x'; DROP TABLE otp;--"), 400,
                  "invalid_request", "purpose"},
        Rejection{"array_metadata", with(valid_body(), "metadata", json::array()), 400,
                  "invalid_request", "metadata"},
        Rejection{"nested_metadata", with(valid_body(), "metadata", {{"a", {{"b", 1}}}}), 400,
                  "invalid_request", "metadata"},
        Rejection{"short_app_hash", with(valid_body(), "app_hash", "abc"), 400, "invalid_request",
                  "app_hash"}),
    [](const ::testing::TestParamInfo<Rejection>& param_info) { return param_info.param.name; });

class SendHandlerTest : public ::testing::Test {
 protected:
  FakeRequestPublisher publisher_;
  test::SeededRng rng_;
  otp::testing::FakeClock clock_;
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  SendHandler handler_{publisher_, rng_, clock_, topics_};
  ResponseRecorder responses_;
};

TEST_F(SendHandlerTest, PublishesANormalisedSendRequestKeyedByTenantAndRecipient) {
  handler_.handle(kTenant, with(valid_body(), "recipient", "+1 (415) 555-2671"),
                  responses_.callback());

  ASSERT_EQ(publisher_.published().size(), 1U);
  EXPECT_EQ(responses_.count(), 0U);  // waits for the reply
  const auto& record = publisher_.published()[0].record;
  EXPECT_EQ(record.topic, "t.send-requests");
  EXPECT_EQ(record.key, "acme:+14155552671");
  auto message = messages::decode_send_requested(record.value);
  ASSERT_TRUE(message.has_value()) << message.error().message;
  EXPECT_EQ(message->tenant, "acme");
  EXPECT_EQ(message->recipient, "+14155552671");
  EXPECT_EQ(message->channel, messages::Channel::kSms);
  EXPECT_TRUE(is_verification_id(message->verification_id));
  EXPECT_FALSE(message->request_id.empty());
  EXPECT_EQ(message->requested_at, clock_.now());
}

TEST_F(SendHandlerTest, EmailDomainIsLowerCasedAndLocaleKept) {
  json body = {{"appid", "acme"},
               {"recipient", "Ana.Silva@Example.COM"},
               {"channel", "email"},
               {"locale", "pt-BR"},
               {"from", "Acme"}};
  handler_.handle(kTenant, body, responses_.callback());

  ASSERT_EQ(publisher_.published().size(), 1U);
  auto message = messages::decode_send_requested(publisher_.published()[0].record.value);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->recipient, "Ana.Silva@example.com");
  EXPECT_EQ(message->channel, messages::Channel::kEmail);
  EXPECT_EQ(message->locale, "pt-BR");
}

TEST_F(SendHandlerTest, DeliveryOptionsOverridesAndAuditDataTravel) {
  json body = valid_body();
  body["from"] = "Acme Bank";
  body["template"] = "login-v2";
  body["app_hash"] = "FA+9qCX9VSu";
  body["code_length"] = 8;
  body["ttl"] = 300;
  body["purpose"] = "login";
  body["metadata"] = {{"order", "A-17"}, {"amount", 12.5}, {"vip", true}};
  handler_.handle(kTenant, body, responses_.callback());

  ASSERT_EQ(publisher_.published().size(), 1U);
  EXPECT_EQ(responses_.count(), 0U);
  auto message = messages::decode_send_requested(publisher_.published()[0].record.value);
  ASSERT_TRUE(message.has_value()) << message.error().message;
  EXPECT_EQ(message->sender, "Acme Bank");
  EXPECT_EQ(message->template_name, "login-v2");
  EXPECT_EQ(message->app_hash, "FA+9qCX9VSu");
  EXPECT_EQ(message->code_length, 8);
  EXPECT_EQ(message->ttl_seconds, 300);
  EXPECT_EQ(message->purpose, "login");
  EXPECT_EQ(message->metadata, body["metadata"]);
}

TEST_F(SendHandlerTest, WithoutOverridesTheRecordLeavesThemToTheTenant) {
  handler_.handle(kTenant, valid_body(), responses_.callback());
  ASSERT_EQ(publisher_.published().size(), 1U);
  const auto raw = json::parse(publisher_.published()[0].record.value);
  for (const char* field : {"code_length", "ttl_seconds", "purpose", "metadata"}) {
    EXPECT_FALSE(raw.contains(field)) << field;
  }
}

TEST_F(SendHandlerTest, SameIdempotencyKeyGivesTheSameIdsPerTenant) {
  const Tenant other{.id = "globex", .key_id = "key-2", .scopes = kAllScopes};
  handler_.handle(kTenant, valid_body(), std::string("order-17"), responses_.callback());
  handler_.handle(kTenant, valid_body(), std::string("order-17"), responses_.callback());
  handler_.handle(kTenant, valid_body(), std::string("order-18"), responses_.callback());
  handler_.handle(other, with(valid_body(), "appid", "globex"), std::string("order-17"),
                  responses_.callback());

  ASSERT_EQ(publisher_.published().size(), 4U);
  std::vector<messages::SendRequested> sent;
  for (const auto& published : publisher_.published()) {
    auto message = messages::decode_send_requested(published.record.value);
    ASSERT_TRUE(message.has_value());
    sent.push_back(*message);
  }
  EXPECT_EQ(sent[0].request_id, sent[1].request_id);
  EXPECT_EQ(sent[0].verification_id, sent[1].verification_id);
  EXPECT_TRUE(is_verification_id(sent[0].verification_id));
  EXPECT_NE(sent[0].request_id, sent[2].request_id);
  EXPECT_NE(sent[0].verification_id, sent[2].verification_id);
  EXPECT_NE(sent[0].request_id, sent[3].request_id);
  EXPECT_NE(sent[0].verification_id, sent[3].verification_id);
}

TEST_F(SendHandlerTest, RateLimitFieldsBecomeHeaders) {
  handler_.handle(kTenant, valid_body(), responses_.callback());
  auto reply = testing::make_reply(messages::RequestKind::kSend, messages::Outcome::kPending);
  reply.rate_limit_limit = 5;
  reply.rate_limit_remaining = 4;
  reply.rate_limit_reset_seconds = 600;
  publisher_.answer(0, reply);

  const auto response = responses_.only();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("RateLimit-Limit"), "5");
  EXPECT_EQ(response.header("RateLimit-Remaining"), "4");
  EXPECT_EQ(response.header("RateLimit-Reset"), "600");
}

TEST_F(SendHandlerTest, RateLimitedWithoutRetryAfterUsesTheWindowReset) {
  handler_.handle(kTenant, valid_body(), responses_.callback());
  auto reply = testing::make_reply(messages::RequestKind::kSend, messages::Outcome::kRateLimited);
  reply.retry_after_seconds = std::nullopt;
  reply.rate_limit_limit = 5;
  reply.rate_limit_remaining = 0;
  reply.rate_limit_reset_seconds = 42;
  publisher_.answer(0, reply);

  const auto response = responses_.only();
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("Retry-After"), "42");
  EXPECT_EQ(response.header("RateLimit-Remaining"), "0");
}

TEST_F(SendHandlerTest, PendingReplyAnswers200WithTheReplyFields) {
  handler_.handle(kTenant, valid_body(), responses_.callback());
  ASSERT_EQ(publisher_.published().size(), 1U);
  auto reply = testing::make_reply(messages::RequestKind::kSend, messages::Outcome::kPending);
  reply.channel = messages::Channel::kSms;
  reply.expires_at = from_unix_ms(1'800'000'600'000);
  reply.attempts_remaining = 5;
  reply.code_length = 6;

  publisher_.answer(0, reply);

  ASSERT_EQ(responses_.count(), 1U);
  EXPECT_EQ(responses_.only().status, 200);
  auto body = responses_.only_body();
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["verification_id"], reply.verification_id);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(body["channel"], "sms");
  EXPECT_EQ(body["recipient"], "+141******71");
  EXPECT_EQ(body["expires_at"], "2027-01-15T08:10:00.000Z");
  EXPECT_EQ(body["attempts_remaining"], 5);
  EXPECT_EQ(body["code_length"], 6);
}

TEST_F(SendHandlerTest, NoReplyInTimeAnswers202WithTheVerificationId) {
  handler_.handle(kTenant, valid_body(), responses_.callback());
  auto message = messages::decode_send_requested(publisher_.published().at(0).record.value);
  ASSERT_TRUE(message.has_value());

  publisher_.answer(0, fail(Errc::kTimeout, "no reply"));

  EXPECT_EQ(responses_.only().status, 202);
  auto body = responses_.only_body();
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["verification_id"], message->verification_id);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(body["channel"], "sms");
  EXPECT_EQ(body["recipient"], "+141******71");
}

TEST_F(SendHandlerTest, UnpublishedRequestAnswers503NeverAccepted) {
  handler_.handle(kTenant, valid_body(), responses_.callback());

  publisher_.answer(0, fail(Errc::kUnavailable, "broker down"));

  EXPECT_EQ(responses_.only().status, 503);
  EXPECT_EQ(responses_.only().header("Retry-After"), "1");
  auto body = responses_.only_body();
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["error"]["code"], "unavailable");
  EXPECT_EQ(body["error"]["retry_after"], 1);
}

TEST_F(SendHandlerTest, RateLimitedReplyAnswers429) {
  handler_.handle(kTenant, valid_body(), responses_.callback());

  publisher_.answer(
      0, testing::make_reply(messages::RequestKind::kSend, messages::Outcome::kRateLimited));

  EXPECT_EQ(responses_.only().status, 429);
  EXPECT_EQ(responses_.only_body()["error"]["code"], "rate_limited");
}

TEST_F(SendHandlerTest, RespondAsyncPublishesWithoutWaitingAndAnswers202OnTheAck) {
  handler_.handle(kTenant, valid_body(), SendOptions{.respond_async = true}, responses_.callback());

  EXPECT_TRUE(publisher_.published().empty());  // nothing waits for the generator
  ASSERT_EQ(publisher_.published_only().size(), 1U);
  EXPECT_EQ(responses_.count(), 0U);  // not before Kafka acknowledged it
  const auto& record = publisher_.published_only()[0].record;
  EXPECT_EQ(record.topic, "t.send-requests");
  EXPECT_EQ(record.key, "acme:+14155552671");
  auto message = messages::decode_send_requested(record.value);
  ASSERT_TRUE(message.has_value()) << message.error().message;

  publisher_.acknowledge(0, {});

  const auto response = responses_.only();
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.header("Preference-Applied"), "respond-async");
  auto body = responses_.only_body();
  // The body of the 202 a send without a reply in time gets.
  EXPECT_EQ(body, json({{"success", true},
                        {"verification_id", message->verification_id},
                        {"status", "pending"},
                        {"channel", "sms"},
                        {"recipient", "+141******71"}}));
}

TEST_F(SendHandlerTest, RespondAsyncNotPublishedIs503Never202) {
  handler_.handle(kTenant, valid_body(), SendOptions{.respond_async = true}, responses_.callback());

  publisher_.acknowledge(0, fail(Errc::kUnavailable, "message timed out"));

  const auto response = responses_.only();
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("Retry-After"), "1");
  EXPECT_FALSE(response.header("Preference-Applied").has_value());
  EXPECT_EQ(responses_.only_body()["error"]["code"], "unavailable");
}

TEST_F(SendHandlerTest, RespondAsyncKeepsTheIdempotencyKeyIds) {
  handler_.handle(kTenant, valid_body(), std::string("order-17"), responses_.callback());
  handler_.handle(kTenant, valid_body(),
                  SendOptions{.idempotency_key = "order-17", .respond_async = true},
                  responses_.callback());

  ASSERT_EQ(publisher_.published().size(), 1U);
  ASSERT_EQ(publisher_.published_only().size(), 1U);
  auto waited = messages::decode_send_requested(publisher_.published()[0].record.value);
  auto async = messages::decode_send_requested(publisher_.published_only()[0].record.value);
  ASSERT_TRUE(waited.has_value() && async.has_value());
  EXPECT_EQ(waited->request_id, async->request_id);
  EXPECT_EQ(waited->verification_id, async->verification_id);
}

TEST_F(SendHandlerTest, RespondAsyncInvalidRequestIsRefusedUnpublished) {
  handler_.handle(kTenant, with(valid_body(), "recipient", "not a number"),
                  SendOptions{.respond_async = true}, responses_.callback());

  EXPECT_TRUE(publisher_.published_only().empty());
  EXPECT_EQ(responses_.only().status, 400);
}

TEST(LocaleTag, AcceptsCommonTagsAndRejectsOthers) {
  for (const char* good : {"en", "pt-BR", "zh-Hant-TW", "es-419", "fil"}) {
    EXPECT_TRUE(is_locale_tag(good)) << good;
  }
  for (const char* bad :
       {"", "e", "english", "en_US", "en-", "-en", "en--US", "1a", "en-abcdefghi"}) {
    EXPECT_FALSE(is_locale_tag(bad)) << bad;
  }
}

}  // namespace
}  // namespace otp::intake
