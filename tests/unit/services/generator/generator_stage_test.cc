#include "services/generator/generator_stage.h"

#include "common/crypto/hmac.h"
#include "common/kafka/stage_runner.h"
#include "common/messages/messages.h"
#include "tests/support/fake_clock.h"
#include "tests/support/in_memory_producer.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/generator/fake_tenant_settings.h"
#include "tests/unit/services/generator/in_memory_code_store.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace otp::generator {
namespace {

using namespace std::chrono_literals;
using messages::Outcome;
using messages::Status;
using nlohmann::json;
using testing::FakeTenantSettings;
using testing::InMemoryCodeStore;

constexpr char kTenant[] = "acme";
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";
constexpr char kPhone[] = "+14155552671";
constexpr char kHmacKey1[] = "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
constexpr char kHmacKey2[] = "h2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
constexpr char kSealKey[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

GeneratorConfig make_config(std::map<std::string, std::string> overrides = {}) {
  std::map<std::string, std::string> env = {{"OTP_KAFKA_BROKERS", "127.0.0.1:1"},
                                            {"OTP_HMAC_KEYS", kHmacKey1},
                                            {"OTP_SEAL_KEYS", kSealKey}};
  for (auto& [key, value] : overrides) env[key] = value;
  auto config = GeneratorConfig::from_env([env](const std::string& key) {
    auto it = env.find(key);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  OTP_CHECK(config.has_value());
  return std::move(*config);
}

class GeneratorStageTest : public ::testing::Test {
 protected:
  kafka::Record send_record(const messages::SendRequested& request, bool with_reply = true) {
    return record("otp.send-requests", messages::encode(request), with_reply);
  }
  kafka::Record verify_record(const messages::VerifyRequested& request, bool with_reply = true) {
    return record("otp.verify-requests", messages::encode(request), with_reply);
  }
  static kafka::Record record(std::string topic, std::string value, bool with_reply) {
    kafka::Record out;
    out.topic = std::move(topic);
    out.value = std::move(value);
    if (with_reply) out.headers = {{"correlation_id", "corr-1"}, {"reply_partition", "3"}};
    return out;
  }

  messages::SendRequested send_request(std::string request_id = "send-1") {
    messages::SendRequested request;
    request.request_id = std::move(request_id);
    request.tenant = kTenant;
    request.verification_id = kVid;
    request.recipient = kPhone;
    request.channel = messages::Channel::kSms;
    request.locale = "en";
    request.requested_at = clock_.now();
    return request;
  }

  messages::VerifyRequested verify_request(std::string request_id, std::string code,
                                           std::string vid = kVid) {
    messages::VerifyRequested request;
    request.request_id = std::move(request_id);
    request.tenant = kTenant;
    request.verification_id = std::move(vid);
    request.otp_code = std::move(code);
    request.requested_at = clock_.now();
    return request;
  }

  Result<std::vector<kafka::OutboundRecord>> run(const kafka::Record& record) {
    return stage_.decode(record).and_then(
        [&](const GeneratorInput& input) { return stage_.handle(input); });
  }

  /// Issues a code for kVid and returns it, as otp-delivery would see it after unsealing.
  std::string issue_code() {
    auto outputs = run(send_record(send_request()));
    OTP_CHECK(outputs.has_value());
    for (const auto& output : *outputs) {
      if (output.topic != "otp.delivery.sms") continue;
      auto job = messages::decode_delivery_job(output.value);
      OTP_CHECK(job.has_value());
      auto code = sealer_.unseal(job->sealed_code, job->verification_id);
      OTP_CHECK(code.has_value());
      return *code;
    }
    OTP_CHECK(false);
    return {};
  }

  static std::string wrong(const std::string& code) {
    std::string other = code;
    other[0] = other[0] == '9' ? '0' : static_cast<char>(other[0] + 1);
    return other;
  }

  static std::vector<kafka::OutboundRecord> on(const std::vector<kafka::OutboundRecord>& outputs,
                                               const std::string& topic) {
    std::vector<kafka::OutboundRecord> out;
    for (const auto& output : outputs) {
      if (output.topic == topic) out.push_back(output);
    }
    return out;
  }

  static std::vector<std::string> event_types(const std::vector<kafka::OutboundRecord>& outputs) {
    std::vector<std::string> types;
    for (const auto& output : on(outputs, "otp.events")) {
      types.push_back(messages::decode_event(output.value).value().type);
    }
    return types;
  }

  static messages::Reply only_reply(const std::vector<kafka::OutboundRecord>& outputs) {
    auto replies = on(outputs, "otp.replies");
    OTP_CHECK(replies.size() == 1);
    return messages::decode_reply(replies.front().value).value();
  }

  otp::testing::FakeClock clock_;
  test::SeededRng rng_{7};
  GeneratorConfig config_ = make_config();
  InMemoryCodeStore store_{clock_};
  FakeTenantSettings tenants_ = [this] {
    FakeTenantSettings tenants;
    tenants.tenants[kTenant] = config_.env_tenant_settings();
    return tenants;
  }();
  GeneratorStage stage_{store_, tenants_, config_, rng_, clock_};
  crypto::Sealer sealer_{config_.seal_keys, rng_};
};

/// True if any string or number anywhere in `value` equals `code`.
bool holds_code(const json& value, const std::string& code) {
  if (value.is_string()) return value.get<std::string>() == code;
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>()) == code;
  if (value.is_structured()) {
    for (const auto& item : value) {
      if (holds_code(item, code)) return true;
    }
  }
  return false;
}

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

TEST_F(GeneratorStageTest, SendProducesJobEventAndReplyOnTheirTopics) {
  auto outputs = run(send_record(send_request()));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  ASSERT_EQ(outputs->size(), 3U);

  auto jobs = on(*outputs, "otp.delivery.sms");
  ASSERT_EQ(jobs.size(), 1U);
  EXPECT_EQ(jobs[0].key, kVid);
  EXPECT_FALSE(jobs[0].partition.has_value());
  auto job = messages::decode_delivery_job(jobs[0].value).value();
  EXPECT_EQ(job.job_id, std::string(kVid) + ":1");
  EXPECT_EQ(job.recipient, kPhone);
  EXPECT_EQ(job.code_length, 6);
  EXPECT_EQ(job.locale, "en");
  EXPECT_EQ(job.expires_at, clock_.now() + 600s);
  EXPECT_EQ(job.deadline, job.expires_at - 10s);

  auto events = on(*outputs, "otp.events");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].key, kVid);
  auto event = messages::decode_event(events[0].value).value();
  EXPECT_EQ(event.type, "verification.created");
  EXPECT_EQ(event.source, "otp-generator");
  EXPECT_EQ(event.tenant, kTenant);
  EXPECT_EQ(event.time, clock_.now());
  EXPECT_EQ(event.data["recipient_masked"], "+141******71");
  EXPECT_EQ(event.data["channel"], "sms");
  EXPECT_EQ(event.data["code_length"], 6);
  EXPECT_EQ(event.data["max_attempts"], 5);
  EXPECT_EQ(event.data["expires_at"], format_rfc3339(job.expires_at));

  auto replies = on(*outputs, "otp.replies");
  ASSERT_EQ(replies.size(), 1U);
  EXPECT_EQ(replies[0].key, "corr-1");
  EXPECT_EQ(replies[0].partition, 3);
  auto reply = messages::decode_reply(replies[0].value).value();
  EXPECT_EQ(reply.correlation_id, "corr-1");
  EXPECT_EQ(reply.request_id, "send-1");
  EXPECT_EQ(reply.kind, messages::RequestKind::kSend);
  EXPECT_EQ(reply.verification_id, kVid);
  EXPECT_EQ(reply.outcome, Outcome::kPending);
  EXPECT_EQ(reply.status, Status::kPending);
  EXPECT_EQ(reply.attempts_remaining, 5);
  EXPECT_EQ(reply.expires_at, job.expires_at);
  EXPECT_EQ(reply.channel, messages::Channel::kSms);
  EXPECT_EQ(reply.code_length, 6);
}

TEST_F(GeneratorStageTest, CodeLeavesOnlySealedAndIsStoredOnlyAsHmac) {
  auto outputs = run(send_record(send_request()));
  ASSERT_TRUE(outputs.has_value());
  auto job_record = on(*outputs, "otp.delivery.sms").at(0);
  auto job = messages::decode_delivery_job(job_record.value).value();
  auto code = sealer_.unseal(job.sealed_code, kVid);
  ASSERT_TRUE(code.has_value()) << code.error().message;
  ASSERT_EQ(code->size(), 6U);

  // The store holds the HMAC of exactly this code, and not the code.
  const auto* stored = store_.find(kTenant, kVid);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->hmac, crypto::code_hmac(config_.hmac_keys.active(), kTenant, kVid, *code));
  EXPECT_EQ(stored->key_id, "h1");

  // The job carries the code only sealed: its fields are exactly these, none holding the code.
  auto job_json = json::parse(job_record.value);
  EXPECT_EQ(keys_of(job_json),
            (std::set<std::string>{"schema_version", "job_id", "tenant", "verification_id",
                                   "channel", "recipient", "sealed_code", "code_length", "locale",
                                   "expires_at", "deadline", "attempt"}));
  EXPECT_FALSE(holds_code(job_json, *code));
  for (const auto& output : *outputs) {
    if (output.topic == "otp.delivery.sms") continue;
    auto payload = json::parse(output.value);
    EXPECT_FALSE(holds_code(payload, *code)) << output.topic << ": " << output.value;
    EXPECT_FALSE(payload.contains("code")) << output.topic;
    EXPECT_FALSE(payload.contains("otp_code")) << output.topic;
  }
  EXPECT_EQ(keys_of(json::parse(on(*outputs, "otp.events").at(0).value)["data"]),
            (std::set<std::string>{"channel", "recipient_masked", "recipient_hash", "country",
                                   "number_prefix", "code_length", "expires_at", "max_attempts"}));
}

TEST_F(GeneratorStageTest, ReplayedSendYieldsByteIdenticalOutputsAndNoSecondCode) {
  auto record = send_record(send_request());
  auto first = run(record);
  ASSERT_TRUE(first.has_value());
  const std::string hmac = store_.find(kTenant, kVid)->hmac;
  clock_.advance(5s);
  auto second = run(record);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(first->size(), second->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].topic, (*second)[i].topic);
    EXPECT_EQ((*first)[i].key, (*second)[i].key);
    EXPECT_EQ((*first)[i].value, (*second)[i].value);
    EXPECT_EQ((*first)[i].partition, (*second)[i].partition);
  }
  EXPECT_EQ(store_.find(kTenant, kVid)->hmac, hmac);
}

TEST_F(GeneratorStageTest, SendWithoutVerificationIdDerivesTheSameOneOnReplay) {
  auto request = send_request("send-derived");
  request.verification_id.clear();
  auto first = run(send_record(request));
  auto second = run(send_record(request));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  auto vid = only_reply(*first).verification_id;
  EXPECT_TRUE(is_verification_id(vid)) << vid;
  EXPECT_NE(vid, kVid);
  EXPECT_EQ(only_reply(*second).verification_id, vid);
  EXPECT_EQ((*first)[0].value, (*second)[0].value);

  auto other = send_request("send-derived-2");
  other.verification_id.clear();
  auto third = run(send_record(other));
  ASSERT_TRUE(third.has_value());
  EXPECT_NE(only_reply(*third).verification_id, vid);
}

TEST_F(GeneratorStageTest, ReplayAfterApprovalDoesNotDeliverAgain) {
  auto code = issue_code();
  ASSERT_TRUE(run(verify_record(verify_request("verify-1", code))).has_value());
  auto replay = run(send_record(send_request()));
  ASSERT_TRUE(replay.has_value());
  EXPECT_TRUE(on(*replay, "otp.delivery.sms").empty());
  EXPECT_EQ(only_reply(*replay).outcome, Outcome::kPending);
}

TEST_F(GeneratorStageTest, SendWithoutReplyHeadersProducesNoReply) {
  auto outputs = run(send_record(send_request(), /*with_reply=*/false));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_TRUE(on(*outputs, "otp.replies").empty());
  EXPECT_EQ(on(*outputs, "otp.delivery.sms").size(), 1U);
  EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.created"});
}

TEST_F(GeneratorStageTest, EmailGoesToTheEmailDeliveryTopic) {
  auto request = send_request();
  request.channel = messages::Channel::kEmail;
  request.recipient = "alice@example.com";
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(on(*outputs, "otp.delivery.email").size(), 1U);
  EXPECT_EQ(json::parse(on(*outputs, "otp.events").at(0).value)["data"]["recipient_masked"],
            "a***e@example.com");
}

TEST_F(GeneratorStageTest, ImplausibleRecipientIsRefusedWithoutStoringAnything) {
  auto request = send_request();
  request.recipient = "not-a-number";
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value());
  ASSERT_EQ(outputs->size(), 1U);
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kInvalidRequest);
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(GeneratorStageTest, VerificationIdOfAnotherRecipientIsAConflict) {
  issue_code();
  auto request = send_request("send-2");
  request.recipient = "+14155550000";
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value());
  ASSERT_EQ(outputs->size(), 1U);
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kInvalidRequest);
}

TEST_F(GeneratorStageTest, CorrectCodeApprovesOnceThenAlreadyVerified) {
  auto code = issue_code();
  auto first = run(verify_record(verify_request("verify-1", code)));
  ASSERT_TRUE(first.has_value()) << first.error().message;
  auto reply = only_reply(*first);
  EXPECT_EQ(reply.outcome, Outcome::kApproved);
  EXPECT_EQ(reply.status, Status::kApproved);
  EXPECT_EQ(reply.kind, messages::RequestKind::kVerify);
  EXPECT_EQ(reply.attempts_remaining, 4);
  EXPECT_EQ(event_types(*first), std::vector<std::string>{"verification.approved"});

  auto second = run(verify_record(verify_request("verify-2", code)));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(only_reply(*second).outcome, Outcome::kAlreadyVerified);
  EXPECT_TRUE(event_types(*second).empty());
}

TEST_F(GeneratorStageTest, WrongCodesUseAttemptsThenMaxAttemptsReached) {
  auto code = issue_code();
  for (int i = 1; i <= 4; ++i) {
    auto outputs = run(verify_record(verify_request("bad-" + std::to_string(i), wrong(code))));
    ASSERT_TRUE(outputs.has_value());
    auto reply = only_reply(*outputs);
    EXPECT_EQ(reply.outcome, Outcome::kInvalidCode);
    EXPECT_EQ(reply.status, Status::kPending);
    EXPECT_EQ(reply.attempts_remaining, 5 - i);
    EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.check_failed"});
    auto event = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
    EXPECT_EQ(event.data["attempts_remaining"], 5 - i);
  }
  auto fifth = run(verify_record(verify_request("bad-5", wrong(code))));
  ASSERT_TRUE(fifth.has_value());
  EXPECT_EQ(only_reply(*fifth).outcome, Outcome::kMaxAttemptsReached);
  EXPECT_EQ(only_reply(*fifth).attempts_remaining, 0);
  EXPECT_EQ(event_types(*fifth), (std::vector<std::string>{"verification.check_failed",
                                                           "verification.max_attempts_reached"}));
  // Even the right code is refused now, and nothing more is counted.
  auto sixth = run(verify_record(verify_request("good-6", code)));
  ASSERT_TRUE(sixth.has_value());
  EXPECT_EQ(only_reply(*sixth).outcome, Outcome::kMaxAttemptsReached);
  EXPECT_TRUE(event_types(*sixth).empty());
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 5);
}

TEST_F(GeneratorStageTest, ExpiredCodeIsRefusedEvenWhenCorrect) {
  auto code = issue_code();
  clock_.advance(600s);
  auto outputs = run(verify_record(verify_request("verify-late", code)));
  ASSERT_TRUE(outputs.has_value());
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kExpired);
  EXPECT_EQ(reply.status, Status::kExpired);
  EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.expired"});
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 0);

  auto again = run(verify_record(verify_request("verify-later", code)));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(only_reply(*again).outcome, Outcome::kExpired);
  EXPECT_TRUE(event_types(*again).empty());
}

TEST_F(GeneratorStageTest, RedeliveredVerifyIsAnsweredIdenticallyAndCountedOnce) {
  auto code = issue_code();
  auto record = verify_record(verify_request("verify-dup", wrong(code)));
  auto first = run(record);
  clock_.advance(1s);
  auto second = run(record);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(first->size(), second->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].value, (*second)[i].value);
  }
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 1);
}

TEST_F(GeneratorStageTest, UnknownAndOtherTenantsVerificationsAnswerTheSame) {
  auto code = issue_code();
  auto unknown =
      run(verify_record(verify_request("verify-u", code, "otp_ffffffffffffffffffffffffffffffff")));
  auto foreign_request = verify_request("verify-u", code);
  foreign_request.tenant = "other-tenant";
  auto foreign = run(verify_record(foreign_request));
  ASSERT_TRUE(unknown.has_value());
  ASSERT_TRUE(foreign.has_value());
  auto a = only_reply(*unknown);
  auto b = only_reply(*foreign);
  EXPECT_EQ(a.outcome, Outcome::kNotFound);
  EXPECT_EQ(b.outcome, Outcome::kNotFound);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.attempts_remaining, b.attempts_remaining);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_TRUE(event_types(*unknown).empty());
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 0);
}

TEST_F(GeneratorStageTest, SealedCodeFromTheIntakeIsUnsealedAndChecked) {
  auto code = issue_code();
  auto request = verify_request("verify-sealed", "");
  request.otp_code.reset();
  request.sealed_code = sealer_.seal(code, kVid);
  auto outputs = run(verify_record(request));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kApproved);
}

TEST_F(GeneratorStageTest, TamperedSealedCodeIsInvalidRequestWithoutUsingAnAttempt) {
  auto code = issue_code();
  auto request = verify_request("verify-tampered", "");
  request.otp_code.reset();
  // Sealed for another verification id: authentication fails.
  request.sealed_code = sealer_.seal(code, "otp_ffffffffffffffffffffffffffffffff");
  auto outputs = run(verify_record(request));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kInvalidRequest);
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 0);
}

TEST_F(GeneratorStageTest, StaleVerifyIsUnavailableWithoutTouchingTheStore) {
  auto code = issue_code();
  const int calls = store_.calls();
  auto request = verify_request("verify-stale", code);
  request.requested_at = clock_.now() - 15001ms;
  auto outputs = run(verify_record(request));
  ASSERT_TRUE(outputs.has_value());
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kUnavailable);
  EXPECT_FALSE(reply.attempts_remaining.has_value());
  EXPECT_TRUE(event_types(*outputs).empty());
  EXPECT_EQ(store_.calls(), calls);
  EXPECT_EQ(store_.find(kTenant, kVid)->status, Status::kPending);

  request.requested_at = clock_.now() - 15000ms;  // exactly at the limit: still served
  auto fresh = run(verify_record(request));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(only_reply(*fresh).outcome, Outcome::kApproved);
}

TEST_F(GeneratorStageTest, VerifyPastItsRespondByIsUnavailableEvenWhenYoung) {
  auto code = issue_code();
  const int calls = store_.calls();
  auto request = verify_request("verify-late", code);
  request.requested_at = clock_.now() - 3001ms;  // well within OTP_VERIFY_MAX_AGE_MS
  request.respond_by = clock_.now() - 1ms;       // but its caller has already given up
  auto outputs = run(verify_record(request));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kUnavailable);
  EXPECT_EQ(store_.calls(), calls);

  request.respond_by = clock_.now();  // exactly at the deadline: still served
  auto served = run(verify_record(request));
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(only_reply(*served).outcome, Outcome::kApproved);
}

TEST_F(GeneratorStageTest, VerifyWithoutReplyHeadersStillEmitsEvents) {
  auto code = issue_code();
  auto outputs = run(verify_record(verify_request("verify-quiet", code), /*with_reply=*/false));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_TRUE(on(*outputs, "otp.replies").empty());
  EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.approved"});
}

TEST_F(GeneratorStageTest, StoreOutageIsRetryableForSendAndVerify) {
  auto code = issue_code();
  store_.set_unavailable(true);
  auto send = run(send_record(send_request("send-during-outage")));
  ASSERT_FALSE(send.has_value());
  EXPECT_EQ(send.error().code, Errc::kUnavailable);
  EXPECT_TRUE(send.error().is_retryable());
  auto verify = run(verify_record(verify_request("verify-during-outage", code)));
  ASSERT_FALSE(verify.has_value());
  EXPECT_EQ(verify.error().code, Errc::kUnavailable);

  store_.set_unavailable(false);  // Redis is back: the retried record goes through
  auto retried = run(verify_record(verify_request("verify-during-outage", code)));
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(only_reply(*retried).outcome, Outcome::kApproved);
}

TEST_F(GeneratorStageTest, CodesIssuedBeforeAnHmacKeyRotationStillVerify) {
  auto code = issue_code();
  auto rotated = make_config({{"OTP_HMAC_KEYS", std::string(kHmacKey2) + "," + kHmacKey1}});
  GeneratorStage after(store_, tenants_, rotated, rng_, clock_);
  auto outputs = after.decode(verify_record(verify_request("verify-rotated", code)))
                     .and_then([&](const GeneratorInput& input) { return after.handle(input); });
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kApproved);

  // Once the old key is dropped, a code it protects cannot be checked: park, never guess.
  auto dropped = make_config({{"OTP_HMAC_KEYS", kHmacKey2}});
  GeneratorStage later(store_, tenants_, dropped, rng_, clock_);
  auto refused = later.decode(verify_record(verify_request("verify-dropped", code)))
                     .and_then([&](const GeneratorInput& input) { return later.handle(input); });
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kInternal);
}

TEST_F(GeneratorStageTest, DecodeRefusesPoisonRecords) {
  const std::vector<kafka::Record> poison = {
      record("otp.send-requests", "not json", true),
      record("otp.send-requests", R"({"schema_version":2})", true),
      record("otp.verify-requests", R"({"schema_version":1,"tenant":"acme"})", true),
      record("otp.other-topic", messages::encode(send_request()), true),
  };
  for (const auto& bad : poison) {
    auto decoded = stage_.decode(bad);
    ASSERT_FALSE(decoded.has_value()) << bad.topic << " " << bad.value;
    EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
  }
  auto half = send_record(send_request(), false);
  half.headers = {{"correlation_id", "corr-1"}};
  EXPECT_FALSE(stage_.decode(half).has_value());
  auto bad_partition = send_record(send_request(), false);
  bad_partition.headers = {{"correlation_id", "corr-1"}, {"reply_partition", "-1"}};
  EXPECT_FALSE(stage_.decode(bad_partition).has_value());
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(GeneratorStageTest, RunnerDeadLettersPoisonAndPublishesGoodRecords) {
  otp::testing::InMemoryProducer producer;
  kafka::StageRunner runner(
      stage_, producer, kafka::RunnerOptions{.stage_name = "generator", .dlq_topic = "otp.dlq"});
  std::atomic<bool> stop{false};
  auto bad = record("otp.send-requests", R"({"schema_version":2})", true);
  bad.offset = 7;
  runner.process(bad, stop);
  auto good = send_record(send_request());
  good.offset = 8;
  runner.process(good, stop);
  EXPECT_EQ(producer.records_for("otp.dlq").size(), 1U);
  EXPECT_EQ(producer.records_for("otp.delivery.sms").size(), 1U);
  EXPECT_EQ(producer.records_for("otp.replies").size(), 1U);
  EXPECT_EQ(producer.records_for("otp.events").size(), 1U);
}

TEST_F(GeneratorStageTest, EventIdsAreDistinctPerCauseAndUuidShaped) {
  auto code = issue_code();
  auto outputs = run(verify_record(verify_request("verify-x", wrong(code))));
  ASSERT_TRUE(outputs.has_value());
  auto created =
      messages::decode_event(on(run(send_record(send_request())).value(), "otp.events").at(0).value)
          .value();
  auto failed = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  EXPECT_NE(created.id, failed.id);
  for (const auto& id : {created.id, failed.id}) {
    ASSERT_EQ(id.size(), 36U) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[14], '8');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  }
}

TenantSettings strict_settings() {
  TenantSettings settings;
  settings.code_length = 8;
  settings.ttl = 120s;
  settings.max_attempts = 3;
  return settings;
}

TEST_F(GeneratorStageTest, SendUsesTheTenantsCodeLengthTtlAndAttempts) {
  tenants_.tenants[kTenant] = strict_settings();
  auto outputs = run(send_record(send_request()));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  auto job = messages::decode_delivery_job(on(*outputs, "otp.delivery.sms").at(0).value).value();
  EXPECT_EQ(job.code_length, 8);
  EXPECT_EQ(job.expires_at, clock_.now() + 120s);
  EXPECT_EQ(sealer_.unseal(job.sealed_code, kVid).value().size(), 8U);
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.attempts_remaining, 3);
  EXPECT_EQ(reply.code_length, 8);
  EXPECT_EQ(store_.find(kTenant, kVid)->max_attempts, 3);
}

TEST_F(GeneratorStageTest, SettingsChangesApplyToTheNextSendOnly) {
  ASSERT_TRUE(run(send_record(send_request())).has_value());
  tenants_.tenants[kTenant] = strict_settings();
  // The replay answers from the stored verification, not from the new rules.
  auto replayed = run(send_record(send_request()));
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(only_reply(*replayed).code_length, 6);
  auto next = send_request("send-2");
  next.verification_id = "otp_00000000000000000000000000000002";
  auto outputs = run(send_record(next));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).code_length, 8);
}

TEST_F(GeneratorStageTest, RequestCodeLengthAndTtlOverrideTheTenantsForThatVerificationOnly) {
  auto request = send_request();
  request.code_length = 8;
  request.ttl_seconds = 120;
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  auto job = messages::decode_delivery_job(on(*outputs, "otp.delivery.sms").at(0).value).value();
  EXPECT_EQ(job.code_length, 8);
  EXPECT_EQ(job.expires_at, clock_.now() + 120s);
  EXPECT_EQ(job.deadline, job.expires_at - 10s);
  const auto code = sealer_.unseal(job.sealed_code, kVid).value();
  EXPECT_EQ(code.size(), 8U);
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.code_length, 8);
  EXPECT_EQ(reply.expires_at, clock_.now() + 120s);
  auto created = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  EXPECT_EQ(created.data["code_length"], 8);
  EXPECT_EQ(created.data["expires_at"], format_rfc3339(clock_.now() + 120s));
  // The 8-digit code verifies; it lives 120 s, not the tenant's 600 s.
  clock_.advance(121s);
  auto late = run(verify_record(verify_request("verify-late", code)));
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(only_reply(*late).outcome, Outcome::kExpired);

  // The next send without overrides gets the tenant's defaults again.
  auto next = send_request("send-2");
  next.verification_id = "otp_00000000000000000000000000000002";
  auto plain = run(send_record(next));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(only_reply(*plain).code_length, 6);
  EXPECT_EQ(only_reply(*plain).expires_at, clock_.now() + 600s);
}

TEST_F(GeneratorStageTest, RequestOverridesMayExceedTheTenantsDefaultsWithinTheGlobalBounds) {
  tenants_.tenants[kTenant] = strict_settings();  // 8 digits, 120 s
  auto request = send_request();
  request.code_length = 4;
  request.ttl_seconds = 86'400;
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.code_length, 4);
  EXPECT_EQ(reply.expires_at, clock_.now() + 86'400s);
  EXPECT_EQ(reply.attempts_remaining, 3);  // what is not overridden stays the tenant's
}

TEST_F(GeneratorStageTest, PurposeAndMetadataGoToTheCreatedEventOnly) {
  auto request = send_request();
  request.purpose = "password_reset";
  request.metadata = json{{"order", "A-17"}, {"amount", 12.5}, {"vip", true}};
  auto record = send_record(request);
  auto outputs = run(record);
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  auto created = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  EXPECT_EQ(created.type, "verification.created");
  EXPECT_EQ(created.data["purpose"], "password_reset");
  EXPECT_EQ(created.data["metadata"], request.metadata);
  // Never on the way to a provider, nor in the reply.
  for (const auto* topic : {"otp.delivery.sms", "otp.replies"}) {
    const std::string value = on(*outputs, topic).at(0).value;
    EXPECT_EQ(value.find("password_reset"), std::string::npos) << topic;
    EXPECT_EQ(value.find("A-17"), std::string::npos) << topic;
  }
  // A replay re-emits the identical event.
  auto again = run(record);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(on(*again, "otp.events").at(0).value, on(*outputs, "otp.events").at(0).value);

  // Without them the event has neither key.
  auto next = send_request("send-2");
  next.verification_id = "otp_00000000000000000000000000000002";
  auto plain = run(send_record(next));
  ASSERT_TRUE(plain.has_value());
  auto data = messages::decode_event(on(*plain, "otp.events").at(0).value).value().data;
  EXPECT_FALSE(data.contains("purpose"));
  EXPECT_FALSE(data.contains("metadata"));
}

TEST_F(GeneratorStageTest, UnknownTenantIsRefusedWithoutTouchingTheStore) {
  auto request = send_request();
  request.tenant = "nobody";
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  ASSERT_EQ(outputs->size(), 1U);
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kInvalidRequest);
  EXPECT_EQ(reply.status, Status::kFailed);
  EXPECT_EQ(reply.message, "unknown tenant");
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(GeneratorStageTest, TenantSettingsOutageIsRetriedAndIssuesNothing) {
  tenants_.down = true;
  auto outputs = run(send_record(send_request()));
  ASSERT_FALSE(outputs.has_value());
  EXPECT_EQ(outputs.error().code, Errc::kUnavailable);
  EXPECT_TRUE(outputs.error().is_retryable());
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(GeneratorStageTest, ChannelNotAllowedIsInvalidRequest) {
  tenants_.tenants[kTenant].allowed_channels = {messages::Channel::kEmail};
  auto outputs = run(send_record(send_request()));
  ASSERT_TRUE(outputs.has_value());
  ASSERT_EQ(outputs->size(), 1U);
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kInvalidRequest);
  EXPECT_EQ(reply.message, "channel not allowed for this tenant");
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(GeneratorStageTest, CountryOutsideTheAllowedListIsBlocked) {
  tenants_.tenants[kTenant].allowed_countries = std::set<std::string>{"GB", "DE"};
  auto outputs = run(send_record(send_request()));  // +1 415: US
  ASSERT_TRUE(outputs.has_value());
  ASSERT_EQ(outputs->size(), 1U);
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kCountryBlocked);
  EXPECT_EQ(reply.status, Status::kFailed);
  EXPECT_EQ(store_.calls(), 0);

  tenants_.tenants[kTenant].allowed_countries = std::set<std::string>{"US"};
  auto allowed = run(send_record(send_request()));
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(only_reply(*allowed).outcome, Outcome::kPending);
}

TEST_F(GeneratorStageTest, CountryListDoesNotApplyToEmail) {
  tenants_.tenants[kTenant].allowed_countries = std::set<std::string>{};
  auto request = send_request();
  request.channel = messages::Channel::kEmail;
  request.recipient = "someone@example.com";
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kPending);
  auto event = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  EXPECT_TRUE(event.data["country"].is_null());
  EXPECT_TRUE(event.data["number_prefix"].is_null());
  EXPECT_EQ(event.data["recipient_hash"],
            crypto::recipient_hash(config_.hmac_keys.active(), kTenant, "someone@example.com"));
}

TEST_F(GeneratorStageTest, CreatedEventCarriesCountryPrefixAndRecipientHash) {
  auto outputs = run(send_record(send_request()));
  ASSERT_TRUE(outputs.has_value());
  auto event = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  EXPECT_EQ(event.data["country"], "US");
  EXPECT_EQ(event.data["number_prefix"], "+1415");
  EXPECT_EQ(event.data["recipient_hash"],
            crypto::recipient_hash(config_.hmac_keys.active(), kTenant, kPhone));
}

TEST_F(GeneratorStageTest, TestNumberGetsItsFixedCodeAndNoDeliveryJob) {
  constexpr char kTestNumber[] = "+15005550006";
  auto& settings = tenants_.tenants[kTenant];
  settings.test_numbers[kTestNumber] = "4242";
  settings.allowed_countries = std::set<std::string>{"GB"};  // test numbers are never sent
  auto request = send_request();
  request.recipient = kTestNumber;
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  EXPECT_TRUE(on(*outputs, "otp.delivery.sms").empty());
  EXPECT_EQ(event_types(*outputs),
            (std::vector<std::string>{"verification.created", "delivery.skipped"}));
  auto skipped = messages::decode_event(on(*outputs, "otp.events").at(1).value).value();
  EXPECT_EQ(skipped.data["reason"], "test_number");
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kPending);
  EXPECT_EQ(reply.code_length, 4);
  for (const auto& output : *outputs) EXPECT_FALSE(holds_code(json::parse(output.value), "4242"));

  // Stored as usual: the fixed code verifies.
  auto verified = run(verify_record(verify_request("verify-1", "4242")));
  ASSERT_TRUE(verified.has_value());
  EXPECT_EQ(only_reply(*verified).outcome, Outcome::kApproved);
}

/// Limits across verifications of one recipient (kPhone).
class GeneratorLimitsTest : public GeneratorStageTest {
 protected:
  /// Issues a code for `vid` and returns it, or "" when the send was refused.
  std::string issue_for(const std::string& request_id, const std::string& vid,
                        messages::Reply& reply) {
    auto request = send_request(request_id);
    request.verification_id = vid;
    auto outputs = run(send_record(request));
    OTP_CHECK(outputs.has_value());
    reply = only_reply(*outputs);
    for (const auto& output : on(*outputs, "otp.delivery.sms")) {
      auto job = messages::decode_delivery_job(output.value).value();
      return sealer_.unseal(job.sealed_code, job.verification_id).value();
    }
    return "";
  }
  messages::Reply check(const std::string& request_id, const std::string& code,
                        const std::string& vid) {
    auto outputs = run(verify_record(verify_request(request_id, code, vid)));
    OTP_CHECK(outputs.has_value());
    return only_reply(*outputs);
  }
  static std::string vid(int n) {
    std::string id = "otp_00000000000000000000000000000000";
    const std::string digits = std::to_string(n);
    id.replace(id.size() - digits.size(), digits.size(), digits);
    return id;
  }
};

TEST_F(GeneratorLimitsTest, SendsPerDestinationAreCappedInASlidingWindow) {
  tenants_.tenants[kTenant].sends_per_destination = 2;
  tenants_.tenants[kTenant].send_window = 600s;
  messages::Reply reply;
  EXPECT_FALSE(issue_for("s1", vid(1), reply).empty());
  clock_.advance(100s);
  EXPECT_FALSE(issue_for("s2", vid(2), reply).empty());
  EXPECT_TRUE(issue_for("s3", vid(3), reply).empty());
  EXPECT_EQ(reply.outcome, Outcome::kRateLimited);
  EXPECT_EQ(reply.status, Status::kFailed);
  EXPECT_EQ(reply.retry_after_seconds, 500);  // when the first send leaves the window
  EXPECT_EQ(store_.find(kTenant, vid(3)), nullptr);
  // A replay is not a new send: it gets its stored answer.
  EXPECT_FALSE(issue_for("s1", vid(1), reply).empty());
  EXPECT_EQ(reply.outcome, Outcome::kPending);
  clock_.advance(500s);
  EXPECT_FALSE(issue_for("s3", vid(3), reply).empty());
  EXPECT_EQ(reply.outcome, Outcome::kPending);
}

TEST_F(GeneratorLimitsTest, TenantTokenBucketLimitsTheSendRate) {
  auto& settings = tenants_.tenants[kTenant];
  settings.send_rate_per_second = 0.5;
  settings.send_burst = 2;
  messages::Reply reply;
  EXPECT_FALSE(issue_for("s1", vid(1), reply).empty());
  EXPECT_FALSE(issue_for("s2", vid(2), reply).empty());
  EXPECT_TRUE(issue_for("s3", vid(3), reply).empty());
  EXPECT_EQ(reply.outcome, Outcome::kRateLimited);
  EXPECT_EQ(reply.retry_after_seconds, 2);
  // A replay passes an empty bucket.
  EXPECT_FALSE(issue_for("s2", vid(2), reply).empty());
  clock_.advance(2s);
  EXPECT_FALSE(issue_for("s3", vid(3), reply).empty());
}

TEST_F(GeneratorLimitsTest, FailureCapHoldsAcrossResendsAndLocksWithGrowingDuration) {
  tenants_.tenants[kTenant].failure_lock_threshold = 3;
  messages::Reply reply;
  const auto first = issue_for("s1", vid(1), reply);
  EXPECT_EQ(check("c1", wrong(first), vid(1)).outcome, Outcome::kInvalidCode);
  EXPECT_EQ(check("c2", wrong(first), vid(1)).outcome, Outcome::kInvalidCode);
  // A new code for the same recipient does not reset the count.
  const auto second = issue_for("s2", vid(2), reply);
  EXPECT_EQ(check("c3", wrong(second), vid(2)).outcome, Outcome::kInvalidCode);
  const auto* failures =
      store_.failures(kTenant, crypto::recipient_hash(config_.hmac_keys.active(), kTenant, kPhone));
  ASSERT_NE(failures, nullptr);
  EXPECT_EQ(failures->locks, 1);

  // Locked: even the right code is refused, uses no attempt, and no new code is issued.
  auto locked = check("c4", second, vid(2));
  EXPECT_EQ(locked.outcome, Outcome::kRecipientLocked);
  EXPECT_EQ(locked.status, Status::kPending);
  EXPECT_EQ(locked.retry_after_seconds, 60);
  EXPECT_EQ(locked.attempts_remaining, std::nullopt);
  EXPECT_EQ(store_.find(kTenant, vid(2))->attempts, 1);
  EXPECT_TRUE(issue_for("s3", vid(3), reply).empty());
  EXPECT_EQ(reply.outcome, Outcome::kRecipientLocked);
  EXPECT_EQ(reply.retry_after_seconds, 60);

  // After the lock, three more failures lock for twice as long.
  clock_.advance(60s);
  const auto third = issue_for("s3", vid(3), reply);
  ASSERT_FALSE(third.empty());
  for (const char* id : {"c5", "c6", "c7"}) check(id, wrong(third), vid(3));
  EXPECT_EQ(check("c8", third, vid(3)).retry_after_seconds, 120);
}

TEST_F(GeneratorLimitsTest, ASuccessResetsTheFailureCount) {
  tenants_.tenants[kTenant].failure_lock_threshold = 3;
  messages::Reply reply;
  const auto first = issue_for("s1", vid(1), reply);
  check("c1", wrong(first), vid(1));
  check("c2", wrong(first), vid(1));
  EXPECT_EQ(check("c3", first, vid(1)).outcome, Outcome::kApproved);
  const auto second = issue_for("s2", vid(2), reply);
  check("c4", wrong(second), vid(2));
  check("c5", wrong(second), vid(2));
  EXPECT_EQ(check("c6", second, vid(2)).outcome, Outcome::kApproved);
}

TEST_F(GeneratorLimitsTest, UnknownTenantVerifyIsNotFoundWithoutTouchingTheStore) {
  auto request = verify_request("v1", "123456");
  request.tenant = "nobody";
  auto outputs = run(verify_record(request));
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kNotFound);
  EXPECT_EQ(store_.calls(), 0);
}

// Resend and cancel (issue 3): requests on send-requests with `action`.
class GeneratorResendTest : public GeneratorStageTest {
 protected:
  messages::SendRequested action_request(std::string request_id, messages::SendAction action) {
    auto request = send_request(std::move(request_id));
    request.action = action;
    return request;
  }
  Result<std::vector<kafka::OutboundRecord>> resend(const std::string& request_id) {
    return run(send_record(action_request(request_id, messages::SendAction::kResend)));
  }
  Result<std::vector<kafka::OutboundRecord>> cancel(const std::string& request_id) {
    return run(send_record(action_request(request_id, messages::SendAction::kCancel)));
  }
  messages::DeliveryJob only_job(const std::vector<kafka::OutboundRecord>& outputs) {
    auto jobs = on(outputs, "otp.delivery.sms");
    OTP_CHECK(jobs.size() == 1);
    return messages::decode_delivery_job(jobs.front().value).value();
  }
  std::string code_of(const messages::DeliveryJob& job) {
    return sealer_.unseal(job.sealed_code, job.verification_id).value();
  }
  messages::Reply verify(const std::string& request_id, const std::string& code) {
    auto outputs = run(verify_record(verify_request(request_id, code)));
    OTP_CHECK(outputs.has_value());
    return only_reply(*outputs);
  }
};

TEST_F(GeneratorResendTest, PolicyNewReplacesTheCodeAndRestartsTheTtl) {
  const auto old_code = issue_code();
  clock_.advance(30s);
  auto outputs = resend("resend-1");
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  const auto job = only_job(*outputs);
  EXPECT_EQ(job.job_id, std::string(kVid) + ":2");
  EXPECT_EQ(job.recipient, kPhone);
  EXPECT_EQ(job.expires_at, clock_.now() + 600s);
  const auto new_code = code_of(job);
  EXPECT_NE(new_code, old_code);
  EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.resent"});
  auto event = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  // The new expiry, so the audit projection can move it.
  EXPECT_EQ(event.data, (json{{"job_id", std::string(kVid) + ":2"},
                              {"policy", "new"},
                              {"expires_at", format_rfc3339(clock_.now() + 600s)}}));
  EXPECT_EQ(event.time, clock_.now());
  for (const auto& output : *outputs) {
    if (output.topic == "otp.delivery.sms") continue;
    EXPECT_FALSE(holds_code(json::parse(output.value), new_code)) << output.value;
  }
  const auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kPending);
  EXPECT_EQ(reply.status, Status::kPending);
  EXPECT_EQ(reply.expires_at, job.expires_at);
  EXPECT_EQ(reply.kind, messages::RequestKind::kResend);

  EXPECT_EQ(verify("v-old", old_code).outcome, Outcome::kInvalidCode);
  EXPECT_EQ(verify("v-new", new_code).outcome, Outcome::kApproved);
}

TEST_F(GeneratorResendTest, PolicyNewKeepsTheLengthAndTtlTheSendAskedFor) {
  // The tenant says 6 digits and 600 s; this verification was issued with 8 digits and 120 s.
  auto request = send_request();
  request.code_length = 8;
  request.ttl_seconds = 120;
  auto issued = run(send_record(request));
  ASSERT_TRUE(issued.has_value()) << issued.error().message;
  ASSERT_EQ(code_of(only_job(*issued)).size(), 8U);
  clock_.advance(30s);
  auto outputs = resend("resend-1");
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  const auto job = only_job(*outputs);
  const auto new_code = code_of(job);
  EXPECT_EQ(new_code.size(), 8U);
  EXPECT_EQ(job.code_length, 8);
  EXPECT_EQ(job.expires_at, clock_.now() + 120s);
  const auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.code_length, 8);
  EXPECT_EQ(reply.expires_at, clock_.now() + 120s);
  EXPECT_EQ(verify("v-new", new_code).outcome, Outcome::kApproved);
}

TEST_F(GeneratorResendTest, PolicySameResendsTheStoredCodeWithItsExpiry) {
  tenants_.tenants[kTenant].resend_policy = ResendPolicy::kSame;
  const auto code = issue_code();
  const auto expires = store_.find(kTenant, kVid)->expires_at_ms;
  clock_.advance(45s);
  auto outputs = resend("resend-1");
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  const auto job = only_job(*outputs);
  EXPECT_EQ(job.job_id, std::string(kVid) + ":2");
  EXPECT_EQ(code_of(job), code);
  EXPECT_EQ(to_unix_ms(job.expires_at), expires);
  auto event = messages::decode_event(on(*outputs, "otp.events").at(0).value).value();
  EXPECT_EQ(event.data["policy"], "same");
  EXPECT_EQ(verify("v-1", code).outcome, Outcome::kApproved);
}

TEST_F(GeneratorResendTest, CooldownRefusesAnEarlyResend) {
  tenants_.tenants[kTenant].resend_cooldown = 30s;
  issue_code();
  clock_.advance(10s);
  auto outputs = resend("resend-1");
  ASSERT_TRUE(outputs.has_value());
  EXPECT_TRUE(on(*outputs, "otp.delivery.sms").empty());
  EXPECT_TRUE(event_types(*outputs).empty());
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.outcome, Outcome::kRateLimited);
  EXPECT_EQ(reply.retry_after_seconds, 20);
  // The cooldown runs from the last send, resends included.
  clock_.advance(20s);
  ASSERT_TRUE(resend("resend-2").has_value());
  clock_.advance(29s);
  EXPECT_EQ(only_reply(resend("resend-3").value()).retry_after_seconds, 1);
  clock_.advance(1s);
  EXPECT_EQ(only_job(resend("resend-3").value()).job_id, std::string(kVid) + ":3");
}

TEST_F(GeneratorResendTest, ResendKeepsUsedAttemptsAndFailures) {
  const auto code = issue_code();
  EXPECT_EQ(verify("v-1", wrong(code)).outcome, Outcome::kInvalidCode);
  clock_.advance(30s);
  auto outputs = resend("resend-1");
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(only_reply(*outputs).attempts_remaining, 4);
  const auto* stored = store_.find(kTenant, kVid);
  EXPECT_EQ(stored->attempts, 1);
  const auto recipient_hash = crypto::recipient_hash(config_.hmac_keys.active(), kTenant, kPhone);
  ASSERT_NE(store_.failures(kTenant, recipient_hash), nullptr);
  EXPECT_EQ(store_.failures(kTenant, recipient_hash)->n, 1);
}

TEST_F(GeneratorResendTest, ResendCountsTowardSendsPerDestination) {
  tenants_.tenants[kTenant].sends_per_destination = 2;
  issue_code();
  clock_.advance(30s);
  ASSERT_EQ(only_reply(resend("resend-1").value()).outcome, Outcome::kPending);
  clock_.advance(30s);
  auto reply = only_reply(resend("resend-2").value());
  EXPECT_EQ(reply.outcome, Outcome::kRateLimited);
  EXPECT_EQ(reply.retry_after_seconds, 540);
}

TEST_F(GeneratorResendTest, ReplayedResendReEmitsIdenticalRecords) {
  issue_code();
  clock_.advance(30s);
  auto first = resend("resend-1");
  ASSERT_TRUE(first.has_value());
  clock_.advance(40s);
  auto again = resend("resend-1");
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(first->size(), again->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].topic, (*again)[i].topic);
    EXPECT_EQ((*first)[i].value, (*again)[i].value);
  }
  EXPECT_EQ(store_.find(kTenant, kVid)->sends, 2);
}

TEST_F(GeneratorResendTest, ResendNeedsAPendingVerificationOfThisTenantAndRecipient) {
  const auto code = issue_code();
  auto unknown = action_request("resend-x", messages::SendAction::kResend);
  unknown.verification_id = "otp_ffffffffffffffffffffffffffffffff";
  EXPECT_EQ(only_reply(run(send_record(unknown)).value()).outcome, Outcome::kNotFound);
  auto other_recipient = action_request("resend-y", messages::SendAction::kResend);
  other_recipient.recipient = "+14155552672";
  clock_.advance(30s);
  EXPECT_EQ(only_reply(run(send_record(other_recipient)).value()).outcome, Outcome::kNotFound);
  EXPECT_EQ(verify("v-1", code).outcome, Outcome::kApproved);
  auto reply = only_reply(resend("resend-1").value());
  EXPECT_EQ(reply.outcome, Outcome::kAlreadyVerified);
  EXPECT_EQ(reply.status, Status::kApproved);
}

TEST_F(GeneratorResendTest, ResendAndCancelRequireAVerificationId) {
  auto request = action_request("resend-1", messages::SendAction::kResend);
  request.verification_id.clear();
  auto outputs = run(send_record(request));
  ASSERT_FALSE(outputs.has_value());
  EXPECT_EQ(outputs.error().code, Errc::kInvalidInput);
}

TEST_F(GeneratorResendTest, CancelThenVerifyAnswersCanceled) {
  const auto code = issue_code();
  auto outputs = cancel("cancel-1");
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.canceled"});
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.kind, messages::RequestKind::kCancel);
  EXPECT_EQ(reply.outcome, Outcome::kOk);
  EXPECT_EQ(reply.status, Status::kCanceled);
  EXPECT_EQ(store_.find(kTenant, kVid)->status, Status::kCanceled);

  auto checked = verify("v-1", code);
  EXPECT_EQ(checked.outcome, Outcome::kCanceled);
  EXPECT_EQ(checked.status, Status::kCanceled);

  // Idempotent: a replay re-emits the same records, another request changes nothing.
  auto replay = cancel("cancel-1");
  ASSERT_TRUE(replay.has_value());
  ASSERT_EQ(replay->size(), outputs->size());
  for (std::size_t i = 0; i < outputs->size(); ++i) {
    EXPECT_EQ((*replay)[i].value, (*outputs)[i].value);
  }
  auto second = cancel("cancel-2");
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(event_types(*second).empty());
  EXPECT_EQ(only_reply(*second).outcome, Outcome::kCanceled);

  clock_.advance(30s);
  EXPECT_EQ(only_reply(resend("resend-1").value()).outcome, Outcome::kCanceled);
}

TEST_F(GeneratorResendTest, CancelLeavesASettledVerificationAlone) {
  const auto code = issue_code();
  EXPECT_EQ(verify("v-1", code).outcome, Outcome::kApproved);
  auto outputs = cancel("cancel-1");
  ASSERT_TRUE(outputs.has_value());
  EXPECT_TRUE(event_types(*outputs).empty());
  EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kAlreadyVerified);
  EXPECT_EQ(store_.find(kTenant, kVid)->status, Status::kApproved);
  auto unknown = action_request("cancel-2", messages::SendAction::kCancel);
  unknown.verification_id = "otp_ffffffffffffffffffffffffffffffff";
  EXPECT_EQ(only_reply(run(send_record(unknown)).value()).outcome, Outcome::kNotFound);
}

// --- status, requests by id alone, delivery options, delivery reply headers, rate-limit info ---

class GeneratorByIdTest : public GeneratorResendTest {
 protected:
  messages::SendRequested by_id(std::string request_id, messages::SendAction action) {
    auto request = action_request(std::move(request_id), action);
    request.recipient.clear();
    request.channel = messages::Channel::kEmail;  // ignored: the stored channel applies
    return request;
  }
  messages::Reply status_of(const std::string& request_id, std::string recipient = "") {
    auto request = action_request(request_id, messages::SendAction::kStatus);
    request.recipient = std::move(recipient);
    auto outputs = run(send_record(request));
    OTP_CHECK(outputs.has_value());
    OTP_CHECK(event_types(*outputs).empty());
    return only_reply(*outputs);
  }
};

TEST_F(GeneratorByIdTest, StatusAnswersTheLiveStateAndChangesNothing) {
  const auto code = issue_code();
  auto reply = status_of("status-1");
  EXPECT_EQ(reply.kind, messages::RequestKind::kStatus);
  EXPECT_EQ(reply.outcome, Outcome::kOk);
  EXPECT_EQ(reply.status, Status::kPending);
  EXPECT_EQ(reply.attempts_remaining, 5);
  EXPECT_EQ(reply.expires_at, clock_.now() + 600s);
  EXPECT_EQ(reply.channel, messages::Channel::kSms);

  EXPECT_EQ(verify("v-1", wrong(code)).outcome, Outcome::kInvalidCode);
  EXPECT_EQ(status_of("status-2").attempts_remaining, 4);
  EXPECT_EQ(status_of("status-3", kPhone).status, Status::kPending);
  EXPECT_EQ(status_of("status-4", "+14155550000").outcome, Outcome::kNotFound);
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 1);  // status used no attempt

  clock_.advance(601s);
  EXPECT_EQ(status_of("status-5").status, Status::kExpired);
  EXPECT_EQ(store_.find(kTenant, kVid)->status, Status::kPending);  // read-only
  EXPECT_EQ(verify("v-2", code).outcome, Outcome::kExpired);
}

TEST_F(GeneratorByIdTest, AnotherTenantsIdIsUnknown) {
  issue_code();
  tenants_.tenants["other"] = tenants_.tenants[kTenant];
  for (auto action : {messages::SendAction::kStatus, messages::SendAction::kResend,
                      messages::SendAction::kCancel}) {
    auto request = by_id("other-1", action);
    request.tenant = "other";
    auto outputs = run(send_record(request));
    ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
    EXPECT_EQ(outputs->size(), 1U);
    EXPECT_EQ(only_reply(*outputs).outcome, Outcome::kNotFound) << messages::to_string(action);
  }
  EXPECT_EQ(store_.find(kTenant, kVid)->status, Status::kPending);
}

TEST_F(GeneratorByIdTest, ResendWithoutRecipientDeliversToTheStoredRecipientAndChannel) {
  const auto old_code = issue_code();
  clock_.advance(30s);
  auto outputs = run(send_record(by_id("resend-1", messages::SendAction::kResend)));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  const auto job = only_job(*outputs);
  EXPECT_EQ(job.recipient, kPhone);
  EXPECT_EQ(job.channel, messages::Channel::kSms);
  EXPECT_EQ(job.job_id, std::string(kVid) + ":2");
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.kind, messages::RequestKind::kResend);
  EXPECT_EQ(reply.outcome, Outcome::kPending);
  EXPECT_EQ(reply.channel, messages::Channel::kSms);
  EXPECT_EQ(verify("v-1", old_code).outcome, Outcome::kInvalidCode);
  EXPECT_EQ(verify("v-2", code_of(job)).outcome, Outcome::kApproved);

  // The recipient is kept only sealed, never in clear.
  const auto location = store_.lookup(kTenant, kVid).value();
  ASSERT_TRUE(location && location->sealed_recipient);
  EXPECT_EQ(location->sealed_recipient->data.find(kPhone), std::string::npos);
  EXPECT_EQ(sealer_.unseal(*location->sealed_recipient, recipient_aad(kVid)).value(), kPhone);
  EXPECT_FALSE(sealer_.unseal(*location->sealed_recipient, kVid).has_value());
}

TEST_F(GeneratorByIdTest, CancelWithoutRecipientCancels) {
  const auto code = issue_code();
  auto outputs = run(send_record(by_id("cancel-1", messages::SendAction::kCancel)));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  EXPECT_EQ(event_types(*outputs), std::vector<std::string>{"verification.canceled"});
  auto reply = only_reply(*outputs);
  EXPECT_EQ(reply.kind, messages::RequestKind::kCancel);
  EXPECT_EQ(reply.outcome, Outcome::kOk);
  EXPECT_EQ(verify("v-1", code).outcome, Outcome::kCanceled);
  EXPECT_EQ(status_of("status-1").status, Status::kCanceled);
}

TEST_F(GeneratorByIdTest, DeliveryJobCarriesTheRequestsOptionsAndTheTenantsFallbackOrder) {
  tenants_.tenants[kTenant].channel_fallback = {
      messages::Channel::kEmail, messages::Channel::kWhatsapp, messages::Channel::kSms};
  auto request = send_request();
  request.sender = "Acme";
  request.template_name = "login";
  request.app_hash = "FA+9qCX9VSu";
  auto outputs = run(send_record(request));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  auto job = only_job(*outputs);
  EXPECT_EQ(job.sender, "Acme");
  EXPECT_EQ(job.template_name, "login");
  EXPECT_EQ(job.app_hash, "FA+9qCX9VSu");
  // Email cannot reach a phone number; sms is this job's channel.
  EXPECT_EQ(job.fallback_channels, std::vector<messages::Channel>{messages::Channel::kWhatsapp});

  clock_.advance(30s);
  auto resend_request = by_id("resend-1", messages::SendAction::kResend);
  resend_request.sender = "Acme2";
  tenants_.tenants[kTenant].allowed_channels.erase(messages::Channel::kWhatsapp);
  auto resent = only_job(run(send_record(resend_request)).value());
  EXPECT_EQ(resent.sender, "Acme2");
  EXPECT_TRUE(resent.fallback_channels.empty());  // whatsapp no longer allowed
}

TEST_F(GeneratorByIdTest, DeliveryCorrelationHeadersAreCopiedOntoTheJob) {
  auto record = send_record(send_request());
  record.headers.emplace_back("delivery_correlation_id", "dcorr-1");
  auto outputs = run(record);
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  auto jobs = on(*outputs, "otp.delivery.sms");
  ASSERT_EQ(jobs.size(), 1U);
  EXPECT_EQ(jobs[0].headers, (std::vector<kafka::Header>{{"delivery_correlation_id", "dcorr-1"},
                                                         {"reply_partition", "3"}}));
  for (const auto& output : *outputs) {
    if (output.topic != "otp.delivery.sms") {
      EXPECT_TRUE(output.headers.empty()) << output.topic;
    }
  }
  // A replay re-emits the same headers.
  EXPECT_EQ(on(run(record).value(), "otp.delivery.sms").at(0).headers, jobs[0].headers);
  // Without it, no headers.
  auto plain = send_request("send-2");
  plain.verification_id = "otp_11111111111111111111111111111111";
  EXPECT_TRUE(on(run(send_record(plain)).value(), "otp.delivery.sms").at(0).headers.empty());

  clock_.advance(30s);
  auto resend = send_record(by_id("resend-1", messages::SendAction::kResend));
  resend.headers.emplace_back("delivery_correlation_id", "dcorr-2");
  EXPECT_EQ(on(run(resend).value(), "otp.delivery.sms").at(0).headers,
            (std::vector<kafka::Header>{{"delivery_correlation_id", "dcorr-2"},
                                        {"reply_partition", "3"}}));
}

TEST_F(GeneratorByIdTest, MalformedDeliveryCorrelationHeadersAreInvalid) {
  auto no_partition = record("otp.send-requests", messages::encode(send_request()), false);
  no_partition.headers = {{"delivery_correlation_id", "dcorr-1"}};
  auto decoded = stage_.decode(no_partition);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
  auto bad_id = send_record(send_request());
  bad_id.headers.emplace_back("delivery_correlation_id", "not an id");
  EXPECT_FALSE(stage_.decode(bad_id).has_value());
}

TEST_F(GeneratorByIdTest, SendAndResendRepliesCarryTheSendWindow) {
  tenants_.tenants[kTenant].sends_per_destination = 3;
  auto first = only_reply(run(send_record(send_request())).value());
  EXPECT_EQ(first.rate_limit_limit, 3);
  EXPECT_EQ(first.rate_limit_remaining, 2);
  EXPECT_EQ(first.rate_limit_reset_seconds, 600);
  // A replay answers as the send did.
  auto replay = only_reply(run(send_record(send_request())).value());
  EXPECT_EQ(replay.rate_limit_remaining, 2);

  clock_.advance(100s);
  auto resent =
      only_reply(run(send_record(by_id("resend-1", messages::SendAction::kResend))).value());
  EXPECT_EQ(resent.rate_limit_limit, 3);
  EXPECT_EQ(resent.rate_limit_remaining, 1);
  EXPECT_EQ(resent.rate_limit_reset_seconds, 500);

  auto second = send_request("send-2");
  second.verification_id = "otp_11111111111111111111111111111111";
  EXPECT_EQ(only_reply(run(send_record(second)).value()).rate_limit_remaining, 0);
  auto third = send_request("send-3");
  third.verification_id = "otp_22222222222222222222222222222222";
  auto refused = only_reply(run(send_record(third)).value());
  EXPECT_EQ(refused.outcome, Outcome::kRateLimited);
  EXPECT_EQ(refused.rate_limit_limit, 3);
  EXPECT_EQ(refused.rate_limit_remaining, 0);
  EXPECT_EQ(refused.rate_limit_reset_seconds, 500);
  EXPECT_EQ(refused.retry_after_seconds, 500);
}

TEST_F(GeneratorByIdTest, FixedFailureLockDoesNotGrow) {
  tenants_.tenants[kTenant].failure_lock_threshold = 2;
  tenants_.tenants[kTenant].failure_lock_duration = std::chrono::seconds(1800);
  tenants_.tenants[kTenant].ttl = 7200s;  // outlives the lock
  const auto code = issue_code();
  EXPECT_EQ(verify("v-1", wrong(code)).outcome, Outcome::kInvalidCode);
  EXPECT_EQ(verify("v-2", wrong(code)).outcome, Outcome::kInvalidCode);
  auto locked = verify("v-3", code);
  EXPECT_EQ(locked.outcome, Outcome::kRecipientLocked);
  EXPECT_EQ(locked.retry_after_seconds, 1800);
  clock_.advance(1800s);
  EXPECT_EQ(verify("v-4", wrong(code)).outcome, Outcome::kInvalidCode);
  EXPECT_EQ(verify("v-5", wrong(code)).outcome, Outcome::kInvalidCode);
  auto second_lock = verify("v-6", code);
  EXPECT_EQ(second_lock.outcome, Outcome::kRecipientLocked);
  EXPECT_EQ(second_lock.retry_after_seconds, 1800);  // the same again, not doubled
}

TEST_F(GeneratorByIdTest, VerifyByRecipientChecksItsLatestVerification) {
  const auto first_code = issue_code();
  auto second = send_request("send-2");
  second.verification_id = "otp_11111111111111111111111111111111";
  auto outputs = run(send_record(second));
  ASSERT_TRUE(outputs.has_value());
  const auto second_code = code_of(only_job(*outputs));

  const auto by_recipient = [&](std::string request_id, std::string recipient,
                                std::optional<crypto::Sealed> sealed, std::string code) {
    auto request = verify_request(std::move(request_id), std::move(code), "");
    request.recipient = std::move(recipient);
    if (sealed) {
      request.otp_code.reset();
      request.sealed_code = std::move(sealed);
    }
    auto checked = run(verify_record(request));
    EXPECT_TRUE(checked.has_value()) << checked.error().message;
    return only_reply(*checked);
  };
  // The latest verification is checked; the earlier one is untouched.
  auto wrong_one = by_recipient("v-1", kPhone, std::nullopt, first_code);
  EXPECT_EQ(wrong_one.verification_id, second.verification_id);
  EXPECT_EQ(wrong_one.outcome, Outcome::kInvalidCode);
  EXPECT_EQ(store_.find(kTenant, kVid)->attempts, 0);
  // Sealed for the recipient (not for an id the caller does not know).
  auto approved = by_recipient("v-2", kPhone, sealer_.seal(second_code, kPhone), "");
  EXPECT_EQ(approved.outcome, Outcome::kApproved);
  EXPECT_EQ(approved.verification_id, second.verification_id);
  auto bad_seal = by_recipient("v-3", kPhone, sealer_.seal(second_code, kVid), "");
  EXPECT_EQ(bad_seal.outcome, Outcome::kInvalidRequest);

  auto unknown = by_recipient("v-4", "+14155550000", std::nullopt, "123456");
  EXPECT_EQ(unknown.outcome, Outcome::kNotFound);
  EXPECT_TRUE(unknown.verification_id.empty());
  tenants_.tenants["other"] = tenants_.tenants[kTenant];
  auto request = verify_request("v-5", second_code, "");
  request.recipient = kPhone;
  request.tenant = "other";
  auto other = run(verify_record(request));
  ASSERT_TRUE(other.has_value()) << other.error().message;
  EXPECT_EQ(only_reply(*other).outcome, Outcome::kNotFound);
}

TEST_F(GeneratorByIdTest, RepliesCountTheRecipientsFailuresLeftAndSayWhenALockStarts) {
  tenants_.tenants[kTenant].failure_lock_threshold = 3;
  const auto code = issue_code();
  EXPECT_EQ(only_reply(run(send_record(send_request())).value()).failures_remaining, 3);
  auto first = verify("v-1", wrong(code));
  EXPECT_EQ(first.outcome, Outcome::kInvalidCode);
  EXPECT_EQ(first.failures_remaining, 2);
  // A new send does not restore them (seed 002: "a resend does not restore trials").
  auto second_send = send_request("send-2");
  second_send.verification_id = "otp_11111111111111111111111111111111";
  auto second_outputs = run(send_record(second_send));
  ASSERT_TRUE(second_outputs.has_value());
  EXPECT_EQ(only_reply(*second_outputs).failures_remaining, 2);
  EXPECT_EQ(verify("v-2", wrong(code)).failures_remaining, 1);
  // The failure that reaches the threshold says the lock started, and for how long.
  auto locking = verify("v-3", wrong(code));
  EXPECT_EQ(locking.outcome, Outcome::kInvalidCode);
  EXPECT_EQ(locking.failures_remaining, 0);
  EXPECT_EQ(locking.retry_after_seconds, 60);
  auto locked = verify("v-4", code);
  EXPECT_EQ(locked.outcome, Outcome::kRecipientLocked);
  EXPECT_EQ(locked.failures_remaining, 0);
  clock_.advance(61s);
  auto approved = verify("v-5", code);
  EXPECT_EQ(approved.outcome, Outcome::kApproved);
  EXPECT_EQ(approved.failures_remaining, 3);  // a success resets them
}

}  // namespace
}  // namespace otp::generator

namespace otp::generator {
namespace {

/// One generator with its own store, clock and seeded RNG, so two can be compared.
struct Generator {
  explicit Generator(const GeneratorConfig& shared) : config(shared) {
    auto settings = config.env_tenant_settings();
    settings.test_numbers["+14155550100"] = "246810";
    tenants.tenants["acme"] = settings;
  }
  const GeneratorConfig& config;
  otp::testing::FakeClock clock;
  test::SeededRng rng{11};
  InMemoryCodeStore store{clock};
  FakeTenantSettings tenants;
  GeneratorStage stage{store, tenants, config, rng, clock};
};

std::string describe(const std::vector<kafka::OutboundRecord>& outputs) {
  std::string out;
  for (const auto& output : outputs) {
    out += output.topic + " " + output.key + " " + std::to_string(output.partition.value_or(-1)) +
           " " + output.value + "\n";
    for (const auto& [name, value] : output.headers) out += "  " + name + "=" + value + "\n";
  }
  return out;
}

TEST(GeneratorStageBatch, ABatchAnswersExactlyAsTheSameRequestsOneByOne) {
  const auto config = make_config();
  Generator one_by_one(config);
  Generator batched(config);
  const auto at = one_by_one.clock.now();
  const auto send = [&](std::string id, std::string vid, std::string to,
                        messages::SendAction action = messages::SendAction::kSend,
                        std::string tenant = "acme") {
    messages::SendRequested request;
    request.request_id = std::move(id);
    request.tenant = std::move(tenant);
    request.verification_id = std::move(vid);
    request.recipient = std::move(to);
    request.channel = messages::Channel::kSms;
    request.action = action;
    request.requested_at = at;
    return GeneratorInput{request, ReplyRoute{"c-" + request.request_id, 1}, {}};
  };
  const auto verify = [&](std::string id, std::string vid, std::string code, std::string to = "") {
    messages::VerifyRequested request;
    request.request_id = std::move(id);
    request.tenant = "acme";
    request.verification_id = std::move(vid);
    request.recipient = std::move(to);
    request.otp_code = std::move(code);
    request.requested_at = at;
    return GeneratorInput{request, ReplyRoute{"c-" + request.request_id, 2}, {}};
  };
  const std::string test_number = "+14155550100";  // fixed code 246810
  const std::string vid1 = "otp_11111111111111111111111111111111";
  const std::string vid2 = "otp_22222222222222222222222222222222";
  // Each request depends on those before it: a replay, a verify by recipient (the current
  // pointer the send before it set), a resend, status and cancel (the verification the batch
  // created), a verify after the cancel, an unknown tenant, and a replayed verify.
  const std::vector<GeneratorInput> inputs{
      send("s1", vid1, test_number),
      verify("v1", vid1, "000000"),
      send("s2", vid2, kPhone),
      send("s1", vid1, test_number),
      verify("v2", "", "246810", test_number),
      send("r1", vid2, "", messages::SendAction::kResend),
      send("st1", vid2, "", messages::SendAction::kStatus),
      verify("v3", vid2, "000000"),
      send("c1", vid2, "", messages::SendAction::kCancel),
      verify("v4", vid2, "000000"),
      send("s3", "otp_33333333333333333333333333333333", kPhone, messages::SendAction::kSend,
           "nobody"),
      verify("v1", vid1, "000000"),
      verify("v5", "otp_44444444444444444444444444444444", "000000"),
  };

  std::vector<std::string> expected;
  for (const auto& input : inputs) {
    auto outputs = one_by_one.stage.handle(input);
    ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
    expected.push_back(describe(*outputs));
  }
  auto results = batched.stage.handle_batch(inputs);
  ASSERT_EQ(results.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << i << ": " << results[i].error().message;
    EXPECT_EQ(describe(*results[i]), expected[i]) << "input " << i;
  }
  // The sequence did what it says (so the comparison is not between two empty answers).
  EXPECT_NE(expected[4].find("\"outcome\":\"approved\""), std::string::npos) << expected[4];
  EXPECT_NE(expected[9].find("\"outcome\":\"canceled\""), std::string::npos) << expected[9];
  EXPECT_NE(expected[3].find("delivery.skipped"), std::string::npos) << expected[3];
}

TEST(GeneratorStageBatch, ARetryableFailureFailsTheRestOfTheBatchWithoutStartingIt) {
  const auto config = make_config();
  Generator generator(config);
  messages::SendRequested request;
  request.tenant = "acme";
  request.recipient = kPhone;
  request.channel = messages::Channel::kSms;
  request.requested_at = generator.clock.now();
  std::vector<GeneratorInput> inputs;
  for (int i = 0; i < 3; ++i) {
    request.request_id = "s" + std::to_string(i);
    inputs.push_back(GeneratorInput{request, std::nullopt, {}});
  }
  generator.tenants.down = true;
  auto results = generator.stage.handle_batch(inputs);
  ASSERT_EQ(results.size(), 3U);
  for (const auto& result : results) {
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().is_retryable());
  }
  EXPECT_EQ(generator.tenants.lookups, 1);  // the 2nd and 3rd were not started
}

}  // namespace
}  // namespace otp::generator
