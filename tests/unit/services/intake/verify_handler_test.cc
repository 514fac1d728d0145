#include "services/intake/handlers/verify_handler.h"

#include "common/crypto/key_ring.h"
#include "common/error/check.h"
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
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";
// 32 zero bytes: a test key.
constexpr char kKeys[] = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

json valid_body() { return {{"appid", "acme"}, {"verification_id", kVid}, {"otp_code", "123456"}}; }

json with(json body, const std::string& key, json value) {
  body[key] = std::move(value);
  return body;
}

json without(json body, const std::string& key) {
  body.erase(key);
  return body;
}

crypto::KeyRing test_keys() {
  auto keys = crypto::KeyRing::parse(kKeys);
  OTP_CHECK(keys.has_value());
  return *keys;
}

class VerifyHandlerTest : public ::testing::Test {
 protected:
  FakeRequestPublisher publisher_;
  test::SeededRng rng_;
  otp::testing::FakeClock clock_;
  crypto::KeyRing keys_ = test_keys();
  crypto::Sealer sealer_{keys_, rng_};
  messages::Topics topics_ = messages::Topics::with_prefix("t.");
  VerifyHandler handler_{publisher_, sealer_, rng_, clock_, topics_, std::chrono::seconds(3)};
  ResponseRecorder responses_;
};

struct Rejection {
  std::string name;
  json body;
  int status;
  std::string code;
  std::string message_part;
};

class VerifyRejects : public VerifyHandlerTest, public ::testing::WithParamInterface<Rejection> {};

TEST_P(VerifyRejects, WithTheRightErrorAndPublishesNothing) {
  const auto& rejection = GetParam();
  handler_.handle(kTenant, rejection.body, responses_.callback());

  ASSERT_EQ(responses_.count(), 1U);
  EXPECT_EQ(responses_.only().status, rejection.status);
  auto body = responses_.only_body();
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["error"]["code"], rejection.code);
  const auto message = body["error"]["message"].get<std::string>();
  EXPECT_NE(message.find(rejection.message_part), std::string::npos) << message;
  EXPECT_EQ(message.find("12345"), std::string::npos) << "a code must never be echoed";
  EXPECT_TRUE(publisher_.published().empty());
}

INSTANTIATE_TEST_SUITE_P(
    VerifyHandler, VerifyRejects,
    ::testing::Values(
        Rejection{"missing_appid", without(valid_body(), "appid"), 400, "invalid_request", "appid"},
        Rejection{"other_tenant", with(valid_body(), "appid", "globex"), 403, "forbidden", "appid"},
        Rejection{"missing_vid", without(valid_body(), "verification_id"), 400, "invalid_request",
                  "verification_id"},
        Rejection{"numeric_vid", with(valid_body(), "verification_id", 5), 400, "invalid_request",
                  "verification_id"},
        Rejection{"short_vid", with(valid_body(), "verification_id", "otp_123"), 400,
                  "invalid_request", "verification_id"},
        Rejection{"upper_case_vid",
                  with(valid_body(), "verification_id", "otp_0123456789ABCDEF0123456789ABCDEF"),
                  400, "invalid_request", "verification_id"},
        Rejection{"missing_code", without(valid_body(), "otp_code"), 400, "invalid_request",
                  "otp_code"},
        Rejection{"numeric_code", with(valid_body(), "otp_code", 123456), 400, "invalid_request",
                  "otp_code"},
        Rejection{"letters_in_code", with(valid_body(), "otp_code", "12345a"), 400,
                  "invalid_request", "otp_code"},
        Rejection{"short_code", with(valid_body(), "otp_code", "123"), 400, "invalid_request",
                  "otp_code"},
        Rejection{"long_code", with(valid_body(), "otp_code", "12345678901"), 400,
                  "invalid_request", "otp_code"},
        Rejection{"unicode_digits", with(valid_body(), "otp_code", "１２３４５６"), 400,
                  "invalid_request", "otp_code"},
        Rejection{"numeric_recipient", with(valid_body(), "recipient", 14155552671LL), 400,
                  "invalid_request", "recipient"}),
    [](const ::testing::TestParamInfo<Rejection>& param_info) { return param_info.param.name; });

TEST_F(VerifyHandlerTest, PublishesTheCodeSealedWithTheVerificationIdAsAad) {
  handler_.handle(kTenant,
                  with(with(valid_body(), "recipient", "+14155552671"), "otp_code", "908172"),
                  responses_.callback());

  ASSERT_EQ(publisher_.published().size(), 1U);
  const auto& record = publisher_.published()[0].record;
  EXPECT_EQ(record.topic, "t.verify-requests");
  EXPECT_EQ(record.key, kVid);
  EXPECT_EQ(record.value.find("908172"), std::string::npos) << "clear code on Kafka";
  EXPECT_FALSE(json::parse(record.value).contains("otp_code"));
  auto message = messages::decode_verify_requested(record.value);
  ASSERT_TRUE(message.has_value()) << message.error().message;
  EXPECT_EQ(message->tenant, "acme");
  EXPECT_EQ(message->verification_id, kVid);
  EXPECT_FALSE(message->otp_code.has_value());
  ASSERT_TRUE(message->sealed_code.has_value());
  EXPECT_EQ(message->sealed_code->key_id, "k1");
  auto code = sealer_.unseal(*message->sealed_code, kVid);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, "908172");
  EXPECT_FALSE(sealer_.unseal(*message->sealed_code, "otp_ffffffffffffffffffffffffffffffff"));
  // The generator must not act on it once this handler has stopped waiting.
  EXPECT_EQ(message->respond_by, message->requested_at + std::chrono::seconds(3));
}

TEST_F(VerifyHandlerTest, ApprovedReplyAnswers200) {
  handler_.handle(kTenant, valid_body(), responses_.callback());

  publisher_.answer(
      0, testing::make_reply(messages::RequestKind::kVerify, messages::Outcome::kApproved));

  EXPECT_EQ(responses_.only().status, 200);
  EXPECT_EQ(responses_.only_body(),
            json({{"success", true}, {"verification_id", kVid}, {"status", "approved"}}));
}

TEST_F(VerifyHandlerTest, NoReplyInTimeAnswers503WithRetryAfter) {
  handler_.handle(kTenant, valid_body(), responses_.callback());

  publisher_.answer(0, fail(Errc::kTimeout, "no reply"));

  EXPECT_EQ(responses_.only().status, 503);
  EXPECT_EQ(responses_.only().header("Retry-After"), "1");
  auto body = responses_.only_body();
  EXPECT_EQ(body["error"]["code"], "unavailable");
  EXPECT_EQ(body["error"]["retry_after"], 1);
  EXPECT_EQ(body["verification_id"], kVid);
}

TEST_F(VerifyHandlerTest, WrongCodeAnswers400WithAttemptsRemaining) {
  handler_.handle(kTenant, valid_body(), responses_.callback());
  auto reply = testing::make_reply(messages::RequestKind::kVerify, messages::Outcome::kInvalidCode);
  reply.attempts_remaining = 3;

  publisher_.answer(0, reply);

  EXPECT_EQ(responses_.only().status, 400);
  auto body = responses_.only_body();
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["error"]["code"], "invalid_code");
  EXPECT_EQ(body["verification_id"], kVid);
  EXPECT_EQ(body["attempts_remaining"], 3);
}

}  // namespace
}  // namespace otp::intake
