#include "common/messages/reply_scanner.h"

#include "common/messages/messages.h"
#include "common/time/clock.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace otp::messages::detail {
namespace {

using messages::Channel;
using messages::Outcome;
using messages::Reply;
using messages::RequestKind;
using messages::Status;

constexpr const char* kVid = "otp_0123456789abcdef0123456789abcdef";

Reply base_reply() {
  Reply reply;
  reply.correlation_id = "5f0c7a52-9f3e-4a43-8d0e-2b7c1d9e4f10";
  reply.request_id = "b1f2c3d4-0000-4000-8000-000000000001";
  reply.kind = RequestKind::kSend;
  reply.tenant = "acme";
  reply.verification_id = kVid;
  reply.outcome = Outcome::kPending;
  reply.status = Status::kPending;
  return reply;
}

/// Every reply the generator (and the delivery workers) can write: each kind, outcome and
/// status, with and without every optional field.
std::vector<Reply> generated_replies() {
  std::vector<Reply> out;
  const std::vector<RequestKind> kinds = {RequestKind::kSend, RequestKind::kVerify,
                                          RequestKind::kResend, RequestKind::kCancel,
                                          RequestKind::kStatus};
  const std::vector<Outcome> outcomes = {Outcome::kPending,
                                         Outcome::kApproved,
                                         Outcome::kInvalidCode,
                                         Outcome::kExpired,
                                         Outcome::kMaxAttemptsReached,
                                         Outcome::kAlreadyVerified,
                                         Outcome::kCanceled,
                                         Outcome::kNotFound,
                                         Outcome::kRateLimited,
                                         Outcome::kInvalidRequest,
                                         Outcome::kCountryBlocked,
                                         Outcome::kRecipientLocked,
                                         Outcome::kUnavailable,
                                         Outcome::kDelivered,
                                         Outcome::kDeliveryFailed,
                                         Outcome::kOk};
  const std::vector<Status> statuses = {Status::kPending,  Status::kApproved,
                                        Status::kCanceled, Status::kMaxAttemptsReached,
                                        Status::kExpired,  Status::kFailed};
  int n = 0;
  for (auto kind : kinds) {
    for (auto outcome : outcomes) {
      Reply reply = base_reply();
      reply.kind = kind;
      reply.outcome = outcome;
      reply.status = statuses[static_cast<std::size_t>(n) % statuses.size()];
      if (n % 2 == 0) {
        reply.attempts_remaining = n % 6;
        reply.expires_at = *parse_rfc3339("2026-11-22T10:15:30.123Z");
        reply.channel =
            n % 3 == 0 ? Channel::kSms : (n % 3 == 1 ? Channel::kEmail : Channel::kWhatsapp);
        reply.code_length = 4 + n % 7;
        reply.rate_limit_limit = 5;
        reply.rate_limit_remaining = n % 5;
        reply.rate_limit_reset_seconds = 600 - n;
        reply.failures_remaining = 100 - n;
      }
      if (n % 3 == 0) reply.retry_after_seconds = n;
      if (n % 4 == 1) reply.message = "the code has expired; ask for a new one";
      if (n % 5 == 2) reply.provider = "twilio";
      if (n % 7 == 3) reply.verification_id.clear();  // verify by recipient: none found
      out.push_back(reply);
      ++n;
    }
  }
  return out;
}

/// Both decoders give the same answer: the same Reply (compared through its encoding, which
/// writes every field) or the same error.
void expect_same_as_full_decoder(const std::string& payload) {
  SCOPED_TRACE(payload);
  auto fast = messages::decode_reply(payload);
  auto full = decode_reply_document_text(payload);
  ASSERT_EQ(fast.has_value(), full.has_value());
  if (full) {
    EXPECT_EQ(messages::encode(*fast), messages::encode(*full));
    EXPECT_EQ(fast->correlation_id, full->correlation_id);
  } else {
    EXPECT_EQ(fast.error().code, full.error().code);
    EXPECT_EQ(fast.error().message, full.error().message);
  }
}

TEST(ReplyDecoder, EveryGeneratedReplyTakesTheFastPathAndMatchesTheFullDecoder) {
  const auto replies = generated_replies();
  ASSERT_EQ(replies.size(), 80U);
  for (const auto& reply : replies) {
    const std::string payload = messages::encode(reply);
    SCOPED_TRACE(payload);
    auto fast = scan_plain_reply(payload);
    ASSERT_TRUE(fast.has_value());
    auto full = decode_reply_document_text(payload);
    ASSERT_TRUE(full.has_value());
    EXPECT_EQ(messages::encode(*fast), messages::encode(*full));
    EXPECT_EQ(messages::encode(*fast), payload);
  }
}

TEST(ReplyDecoder, ReadsEveryFieldOfAFullReply) {
  const std::string payload =
      R"( {"attempts_remaining":4,"channel":"whatsapp","code_length":8,)"
      R"("correlation_id":"c-1","expires_at":"2026-11-22T10:15:30.123Z","failures_remaining":97,)"
      R"("kind":"resend","message":"slow down","outcome":"rate_limited","provider":"meta",)"
      R"("rate_limit_limit":5,"rate_limit_remaining":0,"rate_limit_reset_seconds":42,)"
      R"("request_id":"r-1","retry_after_seconds":42,"schema_version":1,"status":"pending",)"
      "\n\t\"tenant\" : \"acme\" , "
      "\"verification_id\":\"otp_0123456789abcdef0123456789abcdef\"}\r\n";
  auto reply = scan_plain_reply(payload);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->correlation_id, "c-1");
  EXPECT_EQ(reply->request_id, "r-1");
  EXPECT_EQ(reply->kind, RequestKind::kResend);
  EXPECT_EQ(reply->tenant, "acme");
  EXPECT_EQ(reply->verification_id, kVid);
  EXPECT_EQ(reply->outcome, Outcome::kRateLimited);
  EXPECT_EQ(reply->status, Status::kPending);
  EXPECT_EQ(reply->attempts_remaining, 4);
  EXPECT_EQ(reply->expires_at, *parse_rfc3339("2026-11-22T10:15:30.123Z"));
  EXPECT_EQ(reply->channel, Channel::kWhatsapp);
  EXPECT_EQ(reply->code_length, 8);
  EXPECT_EQ(reply->retry_after_seconds, 42);
  EXPECT_EQ(reply->message, "slow down");
  EXPECT_EQ(reply->rate_limit_limit, 5);
  EXPECT_EQ(reply->rate_limit_remaining, 0);
  EXPECT_EQ(reply->rate_limit_reset_seconds, 42);
  EXPECT_EQ(reply->failures_remaining, 97);
  EXPECT_EQ(reply->provider, "meta");
  expect_same_as_full_decoder(payload);
}

// Each of these is valid for messages::decode_reply but outside the fast path: it must still
// decode, and to the same Reply.
TEST(ReplyDecoder, ValidRepliesOutsideTheFastPathDecodeAsTheFullDecoderDoes) {
  const std::string head =
      R"({"schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"send",)"
      R"("tenant":"acme","verification_id":"otp_0123456789abcdef0123456789abcdef",)"
      R"("outcome":"pending","status":"pending")";
  const std::vector<std::string> extras = {
      R"(,"message":"caf\u00e9 \"quoted\"")",          // escapes
      ",\"message\":\"caf\xc3\xa9\"",                  // UTF-8
      R"(,"future_field":{"nested":[1,2,3]})",         // unknown property
      R"(,"future_flag":true)",                        // unknown boolean
      R"(,"attempts_remaining":1234567890123456789)",  // 19 digits
      R"(,"attempts_remaining":-0)",
  };
  for (const auto& extra : extras) {
    const std::string payload = head + extra + "}";
    EXPECT_FALSE(scan_plain_reply(payload).has_value()) << payload;
    expect_same_as_full_decoder(payload);
  }
  // Escapes decoded, not kept as they are.
  auto escaped = messages::decode_reply(head + R"(,"message":"a\"b"})");
  ASSERT_TRUE(escaped.has_value());
  EXPECT_EQ(escaped->message, "a\"b");
}

// Replies decode_reply refuses: the fast path must not accept any of them, and the error is the
// full decoder's.
TEST(ReplyDecoder, InvalidRepliesAreRefusedWithTheFullDecodersError) {
  const std::string vid = kVid;
  auto with = [&](const std::string& fields) { return "{" + fields + "}"; };
  const std::string ok_rest = R"("request_id":"r-1","kind":"send","tenant":"acme",)"
                              R"("verification_id":")" +
                              vid + R"(","outcome":"pending","status":"pending")";
  const std::vector<std::string> payloads = {
      "",
      "not json",
      "[]",
      "{}",
      with(R"("schema_version":2,"correlation_id":"c-1",)" + ok_rest),
      with(R"("schema_version":"1","correlation_id":"c-1",)" + ok_rest),
      with(R"("schema_version":1.0,"correlation_id":"c-1",)" + ok_rest),
      with(R"("correlation_id":"c-1",)" + ok_rest),
      with(R"("schema_version":1,)" + ok_rest),
      with(R"("schema_version":1,"correlation_id":null,)" + ok_rest),
      with(R"("schema_version":1,"correlation_id":"",)" + ok_rest),
      with(R"("schema_version":1,"correlation_id":"c 1",)" + ok_rest),
      with(R"("schema_version":1,"correlation_id":7,)" + ok_rest),
      with(R"("schema_version":1,"correlation_id":")" + std::string(129, 'c') + "\"," + ok_rest),
      with(R"("schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"ship",)"
           R"("tenant":"acme","verification_id":"otp_1","outcome":"pending","status":"pending")"),
      with(R"("schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"send",)"
           R"("tenant":"acme","verification_id":"otp_1","outcome":"pending","status":"pending")"),
      with(R"("schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"send",)"
           R"("tenant":"acme","verification_id":null,"outcome":"pending","status":"pending")"),
      with(R"("schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"send",)"
           R"("tenant":"acme","verification_id":")" +
           vid + R"(","outcome":"great","status":"pending")"),
      with(R"("schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"send",)"
           R"("tenant":"acme","verification_id":")" +
           vid + R"(","outcome":"pending","status":"done")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"channel":"fax")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"channel":"")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"expires_at":"soon")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"expires_at":"")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"expires_at":5)"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"message":"")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + ",\"message\":\"" +
           std::string(1025, 'm') + "\""),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"provider":")" +
           std::string(33, 'p') + "\""),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest +
           R"(,"retry_after_seconds":-1)"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest +
           R"(,"retry_after_seconds":604801)"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest +
           R"(,"rate_limit_remaining":-1)"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest +
           R"(,"failures_remaining":100000001)"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest +
           R"(,"attempts_remaining":"3")"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"code_length":06)"),
      with(R"("schema_version":1,"correlation_id":"c-1",)" + ok_rest + R"(,"code_length":6.0e0)"),
      "{" + std::string(R"("schema_version":1,"correlation_id":"c-1",)") + ok_rest + "} x",
      "{" + std::string(R"("schema_version":1,"correlation_id":"c-1",)") + ok_rest,
      "{" + std::string(R"("schema_version":1,"correlation_id":"c-1",)") + ok_rest + ",}",
      "{" + std::string(R"("schema_version":1 "correlation_id":"c-1",)") + ok_rest + "}",
      "{" + std::string(R"("schema_version":nul,"correlation_id":"c-1",)") + ok_rest + "}",
      "{" + std::string(R"("schema_version":1,"correlation_id":"c-1)") + "\x01" + "\"," + ok_rest +
          "}",
  };
  for (const auto& payload : payloads) {
    ASSERT_FALSE(decode_reply_document_text(payload).has_value()) << payload;
    EXPECT_FALSE(scan_plain_reply(payload).has_value()) << payload;
    expect_same_as_full_decoder(payload);
  }
}

// A repeated property: the full decoder keeps the last value; the fast path leaves it to it.
TEST(ReplyDecoder, RepeatedPropertyIsLeftToTheFullDecoder) {
  const std::string payload =
      R"({"schema_version":1,"correlation_id":"first","correlation_id":"second",)"
      R"("request_id":"r-1","kind":"send","tenant":"acme",)"
      R"("verification_id":"otp_0123456789abcdef0123456789abcdef","outcome":"pending",)"
      R"("status":"pending"})";
  EXPECT_FALSE(scan_plain_reply(payload).has_value());
  expect_same_as_full_decoder(payload);
}

// Nulls stand for absent optional fields, as in decode_reply.
TEST(ReplyDecoder, NullOptionalFieldsAreAbsent) {
  const std::string payload =
      R"({"schema_version":1,"correlation_id":"c-1","request_id":"r-1","kind":"verify",)"
      R"("tenant":"acme","verification_id":"","outcome":"not_found","status":"pending",)"
      R"("attempts_remaining":null,"expires_at":null,"channel":null,"message":null,)"
      R"("provider":null,"retry_after_seconds":null})";
  auto reply = scan_plain_reply(payload);
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->verification_id.empty());
  EXPECT_FALSE(reply->attempts_remaining.has_value());
  EXPECT_FALSE(reply->expires_at.has_value());
  EXPECT_FALSE(reply->channel.has_value());
  EXPECT_TRUE(reply->message.empty());
  EXPECT_FALSE(reply->retry_after_seconds.has_value());
  expect_same_as_full_decoder(payload);
}

}  // namespace
}  // namespace otp::messages::detail
