#include "services/intake/handlers/reply_mapping.h"

#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

namespace otp::intake {
namespace {

using messages::Outcome;
using messages::RequestKind;
using nlohmann::json;

constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

const VerifyContext kVerify{.tenant = "acme", .verification_id = kVid};
const SendContext kSend{.tenant = "acme",
                        .verification_id = kVid,
                        .channel = messages::Channel::kEmail,
                        .recipient = "ana.silva@example.com"};

struct Mapping {
  Outcome outcome;
  int status;
  std::string code;
};

class VerifyOutcome : public ::testing::TestWithParam<Mapping> {};

TEST_P(VerifyOutcome, MapsToItsStatusAndCode) {
  const auto& mapping = GetParam();
  auto reply = testing::make_reply(RequestKind::kVerify, mapping.outcome);
  reply.attempts_remaining = 2;

  const auto response = verify_response(kVerify, reply);

  EXPECT_EQ(response.status, mapping.status);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = json::parse(response.body);
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["error"]["code"], mapping.code);
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(body["verification_id"], kVid);
  EXPECT_EQ(body["attempts_remaining"], 2);
  EXPECT_EQ(response.header("Retry-After").has_value(), mapping.code == "unavailable");
}

INSTANTIATE_TEST_SUITE_P(
    ReplyMapping, VerifyOutcome,
    ::testing::Values(Mapping{Outcome::kInvalidCode, 400, "invalid_code"},
                      Mapping{Outcome::kExpired, 410, "expired"},
                      Mapping{Outcome::kMaxAttemptsReached, 429, "max_attempts_reached"},
                      Mapping{Outcome::kAlreadyVerified, 409, "already_verified"},
                      Mapping{Outcome::kCanceled, 409, "canceled"},
                      Mapping{Outcome::kNotFound, 404, "not_found"},
                      Mapping{Outcome::kRateLimited, 429, "rate_limited"},
                      Mapping{Outcome::kInvalidRequest, 400, "invalid_request"},
                      Mapping{Outcome::kCountryBlocked, 403, "country_blocked"},
                      Mapping{Outcome::kRecipientLocked, 429, "recipient_locked"},
                      Mapping{Outcome::kUnavailable, 503, "unavailable"},
                      Mapping{Outcome::kPending, 500, "internal"}),
    [](const ::testing::TestParamInfo<Mapping>& param_info) {
      return std::string(messages::to_string(param_info.param.outcome));
    });

TEST(ReplyMapping, VerifyApproved) {
  const auto response =
      verify_response(kVerify, testing::make_reply(RequestKind::kVerify, Outcome::kApproved));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(
      response.body,
      R"({"success":true,"verification_id":"otp_0123456789abcdef0123456789abcdef","status":"approved"})");
}

TEST(ReplyMapping, GeneratorMessageReplacesTheDefault) {
  auto reply = testing::make_reply(RequestKind::kVerify, Outcome::kExpired);
  reply.message = "code expired at 10:00";
  auto body = json::parse(verify_response(kVerify, reply).body);
  EXPECT_EQ(body["error"]["message"], "code expired at 10:00");
  EXPECT_FALSE(body.contains("attempts_remaining"));
}

TEST(ReplyMapping, SendPendingCarriesEveryReplyFieldAndAMaskedRecipient) {
  auto reply = testing::make_reply(RequestKind::kSend, Outcome::kPending);
  reply.channel = messages::Channel::kEmail;
  reply.expires_at = from_unix_ms(1'800'000'600'000);
  reply.attempts_remaining = 5;
  reply.code_length = 8;

  const auto response = send_response(kSend, reply);

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body), json({{"success", true},
                                              {"verification_id", kVid},
                                              {"status", "pending"},
                                              {"channel", "email"},
                                              {"recipient", "a*******a@example.com"},
                                              {"expires_at", "2027-01-15T08:10:00.000Z"},
                                              {"attempts_remaining", 5},
                                              {"code_length", 8}}));
}

TEST(ReplyMapping, SendTimeoutIs202Pending) {
  const auto response = send_response(kSend, fail(Errc::kTimeout, "no reply"));
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(json::parse(response.body), json({{"success", true},
                                              {"verification_id", kVid},
                                              {"status", "pending"},
                                              {"channel", "email"},
                                              {"recipient", "a*******a@example.com"}}));
}

TEST(ReplyMapping, SendNotPublishedIs503) {
  for (auto code : {Errc::kUnavailable, Errc::kRateLimited, Errc::kInternal}) {
    const auto response = send_response(kSend, fail(code, "queue full"));
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.header("Retry-After"), "1");
  }
}

TEST(ReplyMapping, SendFailuresUseTheOutcomeError) {
  EXPECT_EQ(
      send_response(kSend, testing::make_reply(RequestKind::kSend, Outcome::kRateLimited)).status,
      429);
  EXPECT_EQ(send_response(kSend, testing::make_reply(RequestKind::kSend, Outcome::kInvalidRequest))
                .status,
            400);
  EXPECT_EQ(
      send_response(kSend, testing::make_reply(RequestKind::kSend, Outcome::kUnavailable)).status,
      503);
}

TEST(ReplyMapping, LimitsCarryTheGeneratorsRetryAfter) {
  auto limited = testing::make_reply(RequestKind::kSend, Outcome::kRateLimited);
  limited.retry_after_seconds = 42;
  auto response = send_response(kSend, limited);
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("Retry-After"), "42");
  EXPECT_EQ(json::parse(response.body)["error"]["retry_after"], 42);

  auto locked = testing::make_reply(RequestKind::kVerify, Outcome::kRecipientLocked);
  locked.retry_after_seconds = 0;  // less than a second left: still ask for one
  response = verify_response(kVerify, locked);
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("Retry-After"), "1");
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "recipient_locked");
}

TEST(ReplyMapping, AReplyForAnotherTenantOrKindIsNeverPassedOn) {
  const auto other_tenant = testing::make_reply(RequestKind::kVerify, Outcome::kApproved, "globex");
  EXPECT_EQ(verify_response(kVerify, other_tenant).status, 500);
  const auto send_reply = testing::make_reply(RequestKind::kSend, Outcome::kPending);
  EXPECT_EQ(verify_response(kVerify, send_reply).status, 500);
  const auto verify_reply = testing::make_reply(RequestKind::kVerify, Outcome::kPending);
  EXPECT_EQ(send_response(kSend, verify_reply).status, 500);
}

}  // namespace
}  // namespace otp::intake
