// Round trips and strict decoding for every Kafka payload (common/messages).

#include "common/messages/messages.h"

#include "common/messages/topics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::messages {
namespace {

using nlohmann::json;

constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";
const TimePoint kAt = from_unix_ms(1'800'000'000'123);

SendRequested send() {
  return SendRequested{.request_id = "r-1",
                       .tenant = "acme",
                       .verification_id = kVid,
                       .recipient = "+14155552671",
                       .channel = Channel::kWhatsapp,
                       .locale = "pt-BR",
                       .requested_at = kAt,
                       .action = SendAction::kSend};
}

/// Re-encodes `payload` with one field replaced (or removed when `value` is null).
std::string with(const std::string& payload, const std::string& field, const json& value) {
  auto object = json::parse(payload);
  if (value.is_null()) {
    object.erase(field);
  } else {
    object[field] = value;
  }
  return object.dump();
}

TEST(Messages, SendRequestedRoundTrips) {
  auto decoded = decode_send_requested(encode(send()));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->request_id, "r-1");
  EXPECT_EQ(decoded->tenant, "acme");
  EXPECT_EQ(decoded->verification_id, kVid);
  EXPECT_EQ(decoded->recipient, "+14155552671");
  EXPECT_EQ(decoded->channel, Channel::kWhatsapp);
  EXPECT_EQ(decoded->locale, "pt-BR");
  EXPECT_EQ(decoded->requested_at, kAt);
}

TEST(Messages, SendRequestedActionDefaultsToSendAndResendCancelNeedAVerificationId) {
  const auto payload = encode(send());
  EXPECT_FALSE(json::parse(payload).contains("action"));  // plain sends encode as before
  EXPECT_EQ(decode_send_requested(with(payload, "action", "send"))->action, SendAction::kSend);
  for (auto action : {SendAction::kResend, SendAction::kCancel}) {
    auto request = send();
    request.action = action;
    const auto encoded = encode(request);
    EXPECT_EQ(json::parse(encoded)["action"], to_string(action));
    auto decoded = decode_send_requested(encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->action, action);
    auto without = decode_send_requested(with(encoded, "verification_id", nullptr));
    ASSERT_FALSE(without.has_value());
    EXPECT_EQ(without.error().message,
              "send request: verification_id is required for resend, cancel and status");
  }
  auto bad = decode_send_requested(with(payload, "action", "delete"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "send request: action is not send, resend, cancel or status");
}

TEST(Messages, SendRequestedVerificationIdIsOptionalButMustBeWellFormed) {
  auto payload = encode(send());
  auto without = decode_send_requested(with(payload, "verification_id", nullptr));
  ASSERT_TRUE(without.has_value());
  EXPECT_TRUE(without->verification_id.empty());
  EXPECT_FALSE(decode_send_requested(with(payload, "verification_id", "otp_XYZ")).has_value());
}

TEST(Messages, SendRequestedRejectsBadInputNamingTheField) {
  auto payload = encode(send());
  struct Case {
    std::string payload;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {"\"text\"", "not a JSON object"},
      {with(payload, "schema_version", 2), "schema_version"},
      {with(payload, "schema_version", "1"), "schema_version"},
      {with(payload, "schema_version", nullptr), "schema_version"},
      {with(payload, "request_id", nullptr), "request_id is required"},
      {with(payload, "request_id", 42), "request_id must be a string"},
      {with(payload, "request_id", ""), "request_id must not be empty"},
      {with(payload, "request_id", std::string(200, 'a')), "request_id is too long"},
      {with(payload, "tenant", "acme|evil"), "tenant has characters"},
      {with(payload, "recipient", json::array()), "recipient must be a string"},
      {with(payload, "channel", "pigeon"), "channel"},
      {with(payload, "requested_at", "yesterday"), "requested_at"},
      {with(payload, "requested_at", "2026-11-21T10:00:00+02:00"), "requested_at"},
  };
  for (const auto& c : cases) {
    auto decoded = decode_send_requested(c.payload);
    ASSERT_FALSE(decoded.has_value()) << c.payload;
    EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
    EXPECT_NE(decoded.error().message.find(c.mentions), std::string::npos)
        << decoded.error().message << " should mention " << c.mentions;
  }
}

TEST(Messages, SendRequestedCarriesPerRequestOverridesAndAuditData) {
  const auto plain = encode(send());
  for (const char* field : {"code_length", "ttl_seconds", "purpose", "metadata"}) {
    EXPECT_FALSE(json::parse(plain).contains(field)) << field;  // absent unless set
  }
  auto absent = decode_send_requested(plain);
  ASSERT_TRUE(absent.has_value());
  EXPECT_FALSE(absent->code_length.has_value());
  EXPECT_FALSE(absent->ttl_seconds.has_value());
  EXPECT_TRUE(absent->purpose.empty());
  EXPECT_TRUE(absent->metadata.is_null());

  auto request = send();
  request.code_length = 8;
  request.ttl_seconds = 120;
  request.purpose = "password_reset";
  request.metadata = json{{"order", "A-17"}, {"amount", 12.5}, {"first", true}};
  auto decoded = decode_send_requested(encode(request));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->code_length, 8);
  EXPECT_EQ(decoded->ttl_seconds, 120);
  EXPECT_EQ(decoded->purpose, "password_reset");
  EXPECT_EQ(decoded->metadata, request.metadata);
  // The bounds are inclusive.
  for (auto [length, ttl] : {std::pair{4, 30}, std::pair{10, 86'400}}) {
    auto edge = decode_send_requested(with(with(plain, "code_length", length), "ttl_seconds", ttl));
    ASSERT_TRUE(edge.has_value()) << edge.error().message;
    EXPECT_EQ(edge->code_length, length);
    EXPECT_EQ(edge->ttl_seconds, ttl);
  }
}

TEST(Messages, SendRequestedRejectsOverridesOutOfBoundsAndMalformedAuditData) {
  const auto payload = encode(send());
  json too_many = json::object();
  for (int i = 0; i < 17; ++i) too_many["k" + std::to_string(i)] = i;
  struct Case {
    std::string field;
    json value;
  };
  const std::vector<Case> cases = {
      {"code_length", 3},
      {"code_length", 11},
      {"code_length", "6"},
      {"code_length", 6.5},
      {"ttl_seconds", 29},
      {"ttl_seconds", 86'401},
      {"ttl_seconds", -1},
      {"purpose", ""},
      {"purpose", std::string(65, 'a')},
      {"purpose", "sign up"},
      {"purpose", 7},
      {"metadata", json::array({1})},
      {"metadata", "text"},
      {"metadata", json{{"nested", json{{"a", 1}}}}},
      {"metadata", json{{"list", json::array()}}},
      {"metadata", json{{"bad key", "x"}}},
      {"metadata", json{{"long", std::string(257, 'x')}}},
      {"metadata", too_many},
  };
  for (const auto& c : cases) {
    auto decoded = decode_send_requested(with(payload, c.field, c.value));
    ASSERT_FALSE(decoded.has_value()) << c.field << "=" << c.value.dump();
    EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
    EXPECT_NE(decoded.error().message.find(c.field), std::string::npos) << decoded.error().message;
  }
  // null counts as absent.
  auto nulls = json::parse(payload);
  for (const char* field : {"code_length", "ttl_seconds", "purpose", "metadata"}) {
    nulls[field] = nullptr;
  }
  auto decoded = decode_send_requested(nulls.dump());
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_FALSE(decoded->code_length.has_value());
  EXPECT_TRUE(decoded->metadata.is_null());
}

TEST(Messages, VerifyRequestedCarriesExactlyOneOfSealedOrPlainCode) {
  VerifyRequested sealed{.request_id = "r-2",
                         .tenant = "acme",
                         .verification_id = kVid,
                         .sealed_code = crypto::Sealed{"k1", "AAAA"},
                         .otp_code = std::nullopt,
                         .requested_at = kAt,
                         .respond_by = kAt + std::chrono::seconds(3)};
  auto decoded = decode_verify_requested(encode(sealed));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  ASSERT_TRUE(decoded->sealed_code.has_value());
  EXPECT_EQ(decoded->sealed_code->key_id, "k1");
  EXPECT_FALSE(decoded->otp_code.has_value());
  EXPECT_EQ(decoded->respond_by, kAt + std::chrono::seconds(3));

  auto plain = sealed;
  plain.sealed_code.reset();
  plain.otp_code = "123456";
  decoded = decode_verify_requested(encode(plain));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->otp_code, "123456");

  auto both = sealed;
  both.otp_code = "123456";
  EXPECT_FALSE(decode_verify_requested(encode(both)).has_value());
  auto neither = plain;
  neither.otp_code.reset();
  EXPECT_FALSE(decode_verify_requested(encode(neither)).has_value());
  EXPECT_FALSE(decode_verify_requested(with(encode(sealed), "otp_code_sealed", "k1:AAAA")));
  EXPECT_FALSE(decode_verify_requested(with(encode(sealed), "verification_id", "otp_1")));
}

TEST(Messages, VerifyRequestedNamesExactlyOneOfVerificationIdOrRecipient) {
  VerifyRequested by_recipient{.request_id = "r-3",
                               .tenant = "acme",
                               .verification_id = "",
                               .recipient = "+14155552671",
                               .sealed_code = std::nullopt,
                               .otp_code = "123456",
                               .requested_at = kAt};
  auto decoded = decode_verify_requested(encode(by_recipient));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->recipient, "+14155552671");
  EXPECT_TRUE(decoded->verification_id.empty());
  // Absent and null verification ids count as empty.
  EXPECT_TRUE(decode_verify_requested(with(encode(by_recipient), "verification_id", nullptr)));

  auto both = by_recipient;
  both.verification_id = kVid;
  auto rejected = decode_verify_requested(encode(both));
  ASSERT_FALSE(rejected.has_value());
  EXPECT_NE(rejected.error().message.find("verification_id"), std::string::npos);
  auto neither = by_recipient;
  neither.recipient.clear();
  EXPECT_FALSE(decode_verify_requested(encode(neither)).has_value());
  // A verify by id encodes no recipient at all.
  auto by_id = both;
  by_id.recipient.clear();
  EXPECT_EQ(nlohmann::json::parse(encode(by_id)).count("recipient"), 0U);
}

TEST(Messages, ReplyMayNameNoVerification) {
  Reply reply{.correlation_id = "c-1",
              .request_id = "r-1",
              .kind = RequestKind::kVerify,
              .tenant = "acme",
              .verification_id = "",
              .outcome = Outcome::kNotFound};
  auto decoded = decode_reply(encode(reply));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_TRUE(decoded->verification_id.empty());
  EXPECT_FALSE(decode_reply(with(encode(reply), "verification_id", "otp_1")).has_value());
  EXPECT_FALSE(decode_reply(with(encode(reply), "verification_id", nullptr)).has_value());
  reply.failures_remaining = 2;
  EXPECT_EQ(decode_reply(encode(reply)).value().failures_remaining, 2);
  EXPECT_FALSE(decode_reply(with(encode(reply), "failures_remaining", -1)).has_value());
}

TEST(Messages, ReplyRoundTripsWithOptionalFields) {
  Reply reply{.correlation_id = "c-1",
              .request_id = "r-1",
              .kind = RequestKind::kVerify,
              .tenant = "acme",
              .verification_id = kVid,
              .outcome = Outcome::kInvalidCode,
              .status = Status::kPending,
              .attempts_remaining = 3,
              .expires_at = kAt,
              .channel = Channel::kSms,
              .code_length = 6,
              .message = "wrong code"};
  auto decoded = decode_reply(encode(reply));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->kind, RequestKind::kVerify);
  EXPECT_EQ(decoded->outcome, Outcome::kInvalidCode);
  EXPECT_EQ(decoded->attempts_remaining, 3);
  EXPECT_EQ(decoded->expires_at, kAt);
  EXPECT_EQ(decoded->channel, Channel::kSms);
  EXPECT_EQ(decoded->code_length, 6);

  Reply minimal = reply;
  minimal.attempts_remaining.reset();
  minimal.expires_at.reset();
  minimal.channel.reset();
  minimal.code_length.reset();
  minimal.message.clear();
  decoded = decode_reply(encode(minimal));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_FALSE(decoded->attempts_remaining.has_value());
  EXPECT_FALSE(decode_reply(with(encode(reply), "outcome", "maybe")).has_value());
  EXPECT_FALSE(decode_reply(with(encode(reply), "attempts_remaining", "3")).has_value());
  EXPECT_FALSE(decode_reply(with(encode(reply), "kind", "reissue")).has_value());
}

TEST(Messages, ReplyCarriesRetryAfterAndTheNewOutcomes) {
  Reply reply{.correlation_id = "c-1",
              .request_id = "r-1",
              .kind = RequestKind::kSend,
              .tenant = "acme",
              .verification_id = kVid,
              .outcome = Outcome::kRateLimited,
              .status = Status::kFailed,
              .attempts_remaining = std::nullopt,
              .expires_at = std::nullopt,
              .channel = std::nullopt,
              .code_length = std::nullopt,
              .retry_after_seconds = 42,
              .message = ""};
  auto decoded = decode_reply(encode(reply));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->retry_after_seconds, 42);
  EXPECT_FALSE(decode_reply(with(encode(reply), "retry_after_seconds", "42")).has_value());
  reply.retry_after_seconds.reset();
  EXPECT_FALSE(decode_reply(encode(reply))->retry_after_seconds.has_value());
  for (auto outcome : {Outcome::kCountryBlocked, Outcome::kRecipientLocked}) {
    reply.outcome = outcome;
    EXPECT_EQ(decode_reply(encode(reply))->outcome, outcome);
  }
  EXPECT_EQ(to_string(Outcome::kCountryBlocked), "country_blocked");
  EXPECT_EQ(to_string(Outcome::kRecipientLocked), "recipient_locked");
}

TEST(Messages, DeliveryJobRoundTripsAndBoundsItsNumbers) {
  DeliveryJob job{.job_id = std::string(kVid) + ":1",
                  .tenant = "acme",
                  .verification_id = kVid,
                  .channel = Channel::kEmail,
                  .recipient = "ana@example.com",
                  .sealed_code = crypto::Sealed{"k1", "c2VhbGVk"},
                  .code_length = 8,
                  .locale = "",
                  .expires_at = kAt,
                  .deadline = kAt - std::chrono::seconds(10),
                  .attempt = 2};
  auto decoded = decode_delivery_job(encode(job));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->sealed_code, job.sealed_code);
  EXPECT_EQ(decoded->deadline, job.deadline);
  EXPECT_EQ(decoded->attempt, 2);
  EXPECT_EQ(decoded->code_length, 8);
  EXPECT_FALSE(decode_delivery_job(with(encode(job), "code_length", 11)).has_value());
  EXPECT_FALSE(decode_delivery_job(with(encode(job), "code_length", 6.5)).has_value());
  EXPECT_FALSE(decode_delivery_job(with(encode(job), "attempt", -1)).has_value());
  EXPECT_FALSE(decode_delivery_job(with(encode(job), "sealed_code", nullptr)).has_value());
  EXPECT_FALSE(
      decode_delivery_job(with(encode(job), "sealed_code", json{{"key_id", "k1"}})).has_value());
}

TEST(Messages, ReplyCarriesRateLimitAndProvider) {
  Reply reply;
  reply.correlation_id = "c1";
  reply.request_id = "r1";
  reply.kind = RequestKind::kStatus;
  reply.tenant = "acme";
  reply.verification_id = kVid;
  reply.outcome = Outcome::kDelivered;
  reply.rate_limit_limit = 5;
  reply.rate_limit_remaining = 3;
  reply.rate_limit_reset_seconds = 540;
  reply.provider = "twilio";
  auto decoded = decode_reply(encode(reply));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->kind, RequestKind::kStatus);
  EXPECT_EQ(decoded->outcome, Outcome::kDelivered);
  EXPECT_EQ(decoded->rate_limit_limit, 5);
  EXPECT_EQ(decoded->rate_limit_remaining, 3);
  EXPECT_EQ(decoded->rate_limit_reset_seconds, 540);
  EXPECT_EQ(decoded->provider, "twilio");
  EXPECT_FALSE(decode_reply(with(encode(reply), "rate_limit_remaining", -1)).has_value());
}

TEST(Messages, RecipientMayBeEmptyOnlyWhenTheVerificationIdLocatesIt) {
  SendRequested status;
  status.request_id = "r1";
  status.tenant = "acme";
  status.verification_id = kVid;
  status.requested_at = kAt;
  status.action = SendAction::kStatus;
  auto decoded = decode_send_requested(encode(status));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->action, SendAction::kStatus);
  EXPECT_TRUE(decoded->recipient.empty());
  status.action = SendAction::kSend;
  auto send = decode_send_requested(encode(status));
  ASSERT_FALSE(send.has_value());
  EXPECT_EQ(send.error().message, "send request: recipient is required");
}

TEST(Messages, DeliveryJobCarriesDeliveryOptionsFallbackAndRetryState) {
  DeliveryJob job;
  job.job_id = std::string(kVid) + ":1";
  job.tenant = "acme";
  job.verification_id = kVid;
  job.channel = Channel::kWhatsapp;
  job.recipient = "+14155552671";
  job.sealed_code = crypto::Sealed{"k1", "c2VhbGVk"};
  job.expires_at = kAt;
  job.deadline = kAt - std::chrono::seconds(10);
  job.sender = "Acme";
  job.template_name = "login";
  job.app_hash = "FA+9qCX9VSu";
  job.fallback_channels = {Channel::kSms};
  job.not_before = kAt - std::chrono::seconds(60);
  job.failed_providers = {"meta"};
  auto decoded = decode_delivery_job(encode(job));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->sender, "Acme");
  EXPECT_EQ(decoded->template_name, "login");
  EXPECT_EQ(decoded->app_hash, "FA+9qCX9VSu");
  EXPECT_EQ(decoded->fallback_channels, std::vector<Channel>{Channel::kSms});
  EXPECT_EQ(decoded->not_before, job.not_before);
  EXPECT_EQ(decoded->failed_providers, std::vector<std::string>{"meta"});
  EXPECT_FALSE(
      decode_delivery_job(with(encode(job), "fallback_channels", json{"fax"})).has_value());
  EXPECT_FALSE(decode_delivery_job(with(encode(job), "failed_providers", "meta")).has_value());
  EXPECT_FALSE(decode_delivery_job(with(encode(job), "from", std::string(65, 'a'))).has_value());
  // Absent options decode as empty.
  DeliveryJob plain = job;
  plain.sender.clear();
  plain.template_name.clear();
  plain.app_hash.clear();
  plain.fallback_channels.clear();
  plain.not_before.reset();
  plain.failed_providers.clear();
  auto bare = decode_delivery_job(encode(plain));
  ASSERT_TRUE(bare.has_value());
  EXPECT_TRUE(bare->sender.empty());
  EXPECT_TRUE(bare->fallback_channels.empty());
  EXPECT_FALSE(bare->not_before.has_value());
}

TEST(Messages, EventRoundTripsAndRequiresAnObjectForData) {
  Event event{.id = "5f0c2b1e-0000-5000-8000-000000000000",
              .type = "verification.created",
              .source = "otp-generator",
              .time = kAt,
              .tenant = "acme",
              .verification_id = kVid,
              .data = {{"channel", "sms"}, {"attempts", 1}}};
  auto decoded = decode_event(encode(event));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->type, "verification.created");
  EXPECT_EQ(decoded->data, event.data);
  EXPECT_FALSE(decode_event(with(encode(event), "data", "text")).has_value());
  EXPECT_FALSE(decode_event(with(encode(event), "time", 17)).has_value());
  auto no_data = decode_event(with(encode(event), "data", nullptr));
  ASSERT_TRUE(no_data.has_value());
  EXPECT_TRUE(no_data->data.empty());
}

// The encoders write JSON text directly (no tree): it must be exactly the text nlohmann's dump
// writes for the same object (keys in order, same escapes), for every field set or left out.
void expect_canonical(const std::string& text) {
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(parsed.is_discarded()) << text;
  EXPECT_EQ(text, parsed.dump());
}

// Every character class the escaping treats differently: quote, backslash, the short escapes,
// other controls, DEL, '/', and multi-byte UTF-8.
const std::string kAwkward = std::string("q\"b\\s/n\nr\rt\tb\bf\f") + '\x01' + '\x1f' + '\x7f' +
                             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 end";

TEST(Messages, EncodersWriteExactlyNlohmannsTextForEveryPayloadShape) {
  SendRequested full = send();
  full.action = SendAction::kResend;
  full.sender = kAwkward;
  full.template_name = "login";
  full.app_hash = "FA+9qCX9VSu";
  full.code_length = 8;
  full.ttl_seconds = 600;
  full.purpose = "login";
  full.metadata = {{"plan", "pro"}, {"n", 3}, {"ok", true}, {"note", kAwkward}};
  SendRequested bare{.request_id = "r", .tenant = "t", .recipient = "+14155552671"};
  for (const auto& message : {send(), full, bare}) {
    expect_canonical(encode(message));
    auto decoded = decode_send_requested(encode(message));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->sender, message.sender);
    EXPECT_EQ(decoded->purpose, message.purpose);
    EXPECT_EQ(decoded->metadata, message.metadata);
  }

  VerifyRequested sealed{.request_id = "v-1",
                         .tenant = "acme",
                         .verification_id = kVid,
                         .sealed_code = crypto::Sealed{"k1", "c2VhbGVk"},
                         .requested_at = kAt,
                         .respond_by = kAt + std::chrono::seconds(3)};
  VerifyRequested plain{.request_id = "v-2",
                        .tenant = "acme",
                        .recipient = "+14155552671",
                        .otp_code = kAwkward,
                        .requested_at = kAt};
  for (const auto& message : {sealed, plain}) expect_canonical(encode(message));

  Reply reply{.correlation_id = "c-1",
              .request_id = "r-1",
              .kind = RequestKind::kVerify,
              .tenant = "acme",
              .verification_id = kVid,
              .outcome = Outcome::kRateLimited,
              .status = Status::kPending,
              .attempts_remaining = 0,
              .expires_at = kAt,
              .channel = Channel::kEmail,
              .code_length = 6,
              .retry_after_seconds = 30,
              .message = kAwkward,
              .rate_limit_limit = 5,
              .rate_limit_remaining = 0,
              .rate_limit_reset_seconds = 600,
              .provider = "twilio",
              .failures_remaining = 99};
  Reply minimal{.correlation_id = "c", .request_id = "r", .tenant = "t"};
  minimal.retry_after_seconds.reset();
  for (const auto& message : {reply, minimal}) {
    expect_canonical(encode(message));
    auto decoded = decode_reply(encode(message));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->message, message.message);
    EXPECT_EQ(decoded->failures_remaining, message.failures_remaining);
  }

  DeliveryJob job{.job_id = std::string(kVid) + ":1",
                  .tenant = "acme",
                  .verification_id = kVid,
                  .channel = Channel::kSms,
                  .recipient = "+14155552671",
                  .sealed_code = crypto::Sealed{"k1", "c2VhbGVk"},
                  .code_length = 6,
                  .locale = "pt-BR",
                  .expires_at = kAt,
                  .deadline = kAt,
                  .attempt = 2,
                  .sender = kAwkward,
                  .template_name = "login",
                  .app_hash = "FA+9qCX9VSu",
                  .fallback_channels = {Channel::kWhatsapp, Channel::kEmail},
                  .not_before = kAt,
                  .failed_providers = {"meta", "vonage"}};
  DeliveryJob simple{.job_id = "j",
                     .tenant = "t",
                     .verification_id = kVid,
                     .recipient = "a@example.com",
                     .sealed_code = crypto::Sealed{"k1", "c2VhbGVk"}};
  for (const auto& message : {job, simple}) {
    expect_canonical(encode(message));
    auto decoded = decode_delivery_job(encode(message));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->sender, message.sender);
    EXPECT_EQ(decoded->fallback_channels, message.fallback_channels);
    EXPECT_EQ(decoded->failed_providers, message.failed_providers);
  }

  Event event{.id = "e",
              .type = "verification.created",
              .source = "otp-generator",
              .time = kAt,
              .tenant = "acme",
              .verification_id = kVid,
              .data = {{"reason", kAwkward}, {"nested", {{"b", 1}, {"a", nullptr}}}}};
  expect_canonical(encode(event));
  EXPECT_EQ(decode_event(encode(event))->data, event.data);
}

TEST(Messages, EncodersRefuseInvalidUtf8AsNlohmannDoes) {
  SendRequested message = send();
  message.sender = "bad \xc3 byte";
  EXPECT_THROW((void)encode(message), nlohmann::json::type_error);
}

TEST(Messages, DecodingAParsedDocumentAnswersAsDecodingItsText) {
  SendRequested message = send();
  message.metadata = {{"plan", "pro"}};
  const auto text = encode(message);
  auto from_text = decode_send_requested(text);
  auto from_document = decode_send_requested_document(json::parse(text));
  ASSERT_TRUE(from_text.has_value() && from_document.has_value());
  EXPECT_EQ(encode(*from_text), encode(*from_document));
  // The same errors, naming the same field.
  const auto bad = with(text, "recipient", 42);
  EXPECT_EQ(decode_send_requested(bad).error().message,
            decode_send_requested_document(json::parse(bad)).error().message);
  EXPECT_EQ(decode_send_requested("[1]").error().message,
            decode_send_requested_document(json::parse("[1]")).error().message);

  VerifyRequested verify{.request_id = "v-1",
                         .tenant = "acme",
                         .verification_id = kVid,
                         .sealed_code = crypto::Sealed{"k1", "c2VhbGVk"},
                         .requested_at = kAt};
  const auto verify_text = encode(verify);
  EXPECT_EQ(encode(*decode_verify_requested(verify_text)),
            encode(*decode_verify_requested_document(json::parse(verify_text))));
  const auto no_code = with(verify_text, "otp_code_sealed", nullptr);
  EXPECT_EQ(decode_verify_requested(no_code).error().message,
            decode_verify_requested_document(json::parse(no_code)).error().message);
}

TEST(Topics, PrefixNamesEveryTopicAndEachHasPartitions) {
  auto topics = Topics::with_prefix("x.");
  EXPECT_EQ(topics.send_requests, "x.send-requests");
  EXPECT_EQ(topics.delivery(Channel::kWhatsapp), "x.delivery.whatsapp");
  EXPECT_EQ(topics.delivery(Channel::kEmail), "x.delivery.email");
  EXPECT_EQ(topics.delivery(Channel::kSms), "x.delivery.sms");
  auto specs = topics.specs();
  EXPECT_EQ(specs.size(), 9U);
  for (const auto& spec : specs) {
    EXPECT_EQ(spec.name.rfind("x.", 0), 0U) << spec.name;
    EXPECT_GE(spec.partitions, 1);
  }
}

int partitions_of(const std::vector<TopicSpec>& specs, const std::string& name) {
  for (const auto& spec : specs) {
    if (spec.name == name) return spec.partitions;
  }
  return -1;
}

TEST(Topics, PartitionCountsCanBeSetPerTopicButNotForReplies) {
  const auto defaults = Topics::with_prefix("x.").specs();
  // The defaults: two request and event partitions (ADR 0016), one reply partition per intake.
  EXPECT_EQ(partitions_of(defaults, "x.send-requests"), 2);
  EXPECT_EQ(partitions_of(defaults, "x.verify-requests"), 2);
  EXPECT_EQ(partitions_of(defaults, "x.events"), 2);
  EXPECT_EQ(partitions_of(defaults, "x.replies"), 8);

  auto none = with_partitions(defaults, "x.", "");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(partitions_of(*none, "x.send-requests"), 2);

  auto set = with_partitions(defaults, "x.", "send-requests=6,delivery.sms=12,events=1");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(partitions_of(*set, "x.send-requests"), 6);
  EXPECT_EQ(partitions_of(*set, "x.delivery.sms"), 12);
  EXPECT_EQ(partitions_of(*set, "x.events"), 1);
  EXPECT_EQ(partitions_of(*set, "x.verify-requests"), 2);  // untouched
  EXPECT_EQ(set->size(), defaults.size());

  for (const char* bad : {"replies=2", "nope=2", "events", "events=", "events=0", "events=1001",
                          "events=2x", "=2", "events=-1", "events=2,,", "x.events=2"}) {
    auto refused = with_partitions(defaults, "x.", bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code, Errc::kInvalidInput) << bad;
  }
}

}  // namespace
}  // namespace otp::messages
