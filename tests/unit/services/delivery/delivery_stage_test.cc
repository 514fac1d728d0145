#include "services/delivery/delivery_stage.h"

#include "common/crypto/key_ring.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;

constexpr char kKeys[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

class DeliveryStageTest : public ::testing::Test {
 protected:
  DeliveryStageTest()
      : keys_(*crypto::KeyRing::parse(kKeys)),
        sealer_(keys_, rng_),
        topics_(messages::Topics::with_prefix("t.")),
        stage_(
            messages::Channel::kSms, {"alpha", "beta"}, sealer_, clock_, rng_, topics_,
            [](const RenderInput& input) -> Result<RenderedMessage> {
              return RenderedMessage{.subject = "",
                                     .body = "Acme code " + input.code,
                                     .text = "",
                                     .sender = "",
                                     .segments = 1,
                                     .encoding = "gsm7",
                                     .locale = "en",
                                     .template_name = "default",
                                     .tenant_template = false};
            },
            RetryPolicy{.max_attempts = 4,
                        .initial_backoff = 1000ms,
                        .max_backoff = 8000ms,
                        .max_retry_after = 60000ms}) {}

  messages::DeliveryJob job(std::string code = "428913") {
    return messages::DeliveryJob{.job_id = std::string(kVid) + ":1",
                                 .tenant = "acme",
                                 .verification_id = kVid,
                                 .channel = messages::Channel::kSms,
                                 .recipient = "+14155552671",
                                 .sealed_code = sealer_.seal(code, kVid),
                                 .code_length = static_cast<int>(code.size()),
                                 .locale = "",
                                 .expires_at = clock_.now() + 10min,
                                 .deadline = clock_.now() + 9min + 50s,
                                 .attempt = 0};
  }

  Delivery delivery(messages::DeliveryJob j, bool wants_reply = false) {
    kafka::Record record;
    record.topic = "t.delivery.sms";
    record.partition = 1;
    record.offset = 77;
    record.key = kVid;
    record.value = messages::encode(j);
    record.headers = {{"trace", "x"}};
    if (wants_reply) {
      record.headers.emplace_back("delivery_correlation_id", "corr-1");
      record.headers.emplace_back("reply_partition", "3");
    }
    return Delivery{.job = std::move(j), .record = std::move(record)};
  }

  static std::vector<kafka::OutboundRecord> on_topic(const std::vector<kafka::OutboundRecord>& all,
                                                     const std::string& topic) {
    std::vector<kafka::OutboundRecord> out;
    for (const auto& record : all) {
      if (record.topic == topic) out.push_back(record);
    }
    return out;
  }
  static messages::Event event_of(const kafka::OutboundRecord& record) {
    auto event = messages::decode_event(record.value);
    EXPECT_TRUE(event.has_value());
    return *event;
  }
  static messages::DeliveryJob job_of(const kafka::OutboundRecord& record) {
    auto decoded = messages::decode_delivery_job(record.value);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().message);
    return *decoded;
  }

  test::SeededRng rng_;
  crypto::KeyRing keys_;
  crypto::Sealer sealer_;
  testing::FakeClock clock_;
  messages::Topics topics_;
  DeliveryStage stage_;
};

TEST_F(DeliveryStageTest, PreparesTheUnsealedCodeForTheProviderOnly) {
  auto prepared = stage_.prepare(delivery(job("428913")));
  ASSERT_TRUE(prepared.has_value()) << prepared.error().message;
  EXPECT_EQ(prepared->message.body, "Acme code 428913");
  EXPECT_EQ(prepared->message.code, "428913");
  EXPECT_EQ(prepared->message.to, "+14155552671");
  EXPECT_EQ(prepared->message.expires_in, 10min);
  EXPECT_EQ(prepared->segments, 1);
}

TEST_F(DeliveryStageTest, TamperedSealCannotBePrepared) {
  auto tampered = job();
  tampered.sealed_code.data[5] = tampered.sealed_code.data[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(stage_.prepare(delivery(tampered)).has_value());
}

TEST_F(DeliveryStageTest, SentReportsProviderAndSegmentsNeverTheCodeAndRepliesWhenAsked) {
  auto d = delivery(job("428913"), /*wants_reply=*/true);
  auto prepared = stage_.prepare(d);
  ASSERT_TRUE(prepared.has_value());
  auto outputs = stage_.sent(
      d, ProviderReceipt{.provider = "alpha", .message_id = "SM1", .latency = 12ms}, *prepared);
  auto events = on_topic(outputs, "t.events");
  ASSERT_EQ(events.size(), 1U);
  auto event = event_of(events[0]);
  EXPECT_EQ(event.type, "delivery.sent");
  EXPECT_EQ(event.data.at("provider"), "alpha");
  EXPECT_EQ(event.data.at("provider_message_id"), "SM1");
  EXPECT_EQ(event.data.at("latency_ms"), 12);
  EXPECT_EQ(event.data.at("segments"), 1);
  for (const auto& output : outputs) {
    EXPECT_EQ(output.value.find("428913"), std::string::npos);
    EXPECT_EQ(output.value.find("+14155552671"), std::string::npos);
  }
  auto replies = on_topic(outputs, "t.replies");
  ASSERT_EQ(replies.size(), 1U);
  EXPECT_EQ(replies[0].partition, 3);
  EXPECT_EQ(replies[0].key, "corr-1");
  auto reply = messages::decode_reply(replies[0].value);
  ASSERT_TRUE(reply.has_value()) << reply.error().message;
  EXPECT_EQ(reply->outcome, messages::Outcome::kDelivered);
  EXPECT_EQ(reply->provider, "alpha");
  EXPECT_EQ(reply->correlation_id, "corr-1");
}

TEST_F(DeliveryStageTest, NoReplyWithoutTheHeaders) {
  auto d = delivery(job());
  auto prepared = stage_.prepare(d);
  auto outputs = stage_.sent(d, ProviderReceipt{.provider = "alpha", .message_id = "m"}, *prepared);
  EXPECT_TRUE(on_topic(outputs, "t.replies").empty());
}

TEST_F(DeliveryStageTest, TransientFailureSchedulesARetryWithJitteredBackoff) {
  auto d = delivery(job());
  auto outputs = stage_.failed(d, "alpha", Error{Errc::kUnavailable, "alpha http 503"}, 40ms);
  auto events = on_topic(outputs, "t.events");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(event_of(events[0]).type, "delivery.attempted");
  EXPECT_EQ(event_of(events[0]).data.at("error_code"), "unavailable");
  auto retries = on_topic(outputs, "t.delivery.retry");
  ASSERT_EQ(retries.size(), 1U);
  EXPECT_EQ(retries[0].key, kVid);
  EXPECT_EQ(retries[0].headers, (std::vector<kafka::Header>{{"trace", "x"}}));
  auto retry = job_of(retries[0]);
  EXPECT_EQ(retry.attempt, 1);
  ASSERT_TRUE(retry.not_before.has_value());
  EXPECT_GE(*retry.not_before, clock_.now() + 500ms);  // half of 1 s at least
  EXPECT_LE(*retry.not_before, clock_.now() + 1000ms);
  EXPECT_TRUE(retry.failed_providers.empty());
  EXPECT_EQ(outputs.size(), 2U);  // nothing else: no terminal event, no reply
}

TEST_F(DeliveryStageTest, BackoffGrowsWithTheAttempt) {
  auto third = job();
  third.attempt = 2;
  auto outputs = stage_.failed(delivery(third), "alpha", Error{Errc::kTimeout, "t"}, 1ms);
  auto retry = job_of(on_topic(outputs, "t.delivery.retry").at(0));
  EXPECT_GE(*retry.not_before, clock_.now() + 2000ms);
  EXPECT_LE(*retry.not_before, clock_.now() + 4000ms);
}

TEST_F(DeliveryStageTest, RetryAfterIsHonoured) {
  auto outputs =
      stage_.failed(delivery(job()), "alpha",
                    rate_limited_error("alpha rate limited", std::chrono::seconds(7)), 1ms);
  auto retry = job_of(on_topic(outputs, "t.delivery.retry").at(0));
  EXPECT_EQ(*retry.not_before, clock_.now() + 7s);
}

TEST_F(DeliveryStageTest, ARetryThatWouldMissTheDeadlineFailsOverInstead) {
  auto late = job();
  late.deadline = clock_.now() + 300ms;  // backoff is at least 500 ms
  auto outputs = stage_.failed(delivery(late), "alpha", Error{Errc::kUnavailable, "503"}, 1ms);
  auto next = job_of(on_topic(outputs, "t.delivery.retry").at(0));
  EXPECT_EQ(next.failed_providers, std::vector<std::string>{"alpha"});
  EXPECT_EQ(*next.not_before, clock_.now());
}

TEST_F(DeliveryStageTest, PermanentRefusalFailsOverToTheNextProvider) {
  auto outputs =
      stage_.failed(delivery(job()), "alpha", Error{Errc::kPermanent, "alpha http 400"}, 1ms);
  EXPECT_EQ(event_of(on_topic(outputs, "t.events").at(0)).type, "delivery.attempted");
  auto next = job_of(on_topic(outputs, "t.delivery.retry").at(0));
  EXPECT_EQ(next.failed_providers, std::vector<std::string>{"alpha"});
  EXPECT_EQ(next.attempt, 1);
  EXPECT_EQ(*next.not_before, clock_.now());
}

TEST_F(DeliveryStageTest, UsedUpAttemptsFailOverToo) {
  auto last = job();
  last.attempt = 3;  // max_attempts = 4
  auto outputs = stage_.failed(delivery(last), "alpha", Error{Errc::kUnavailable, "503"}, 1ms);
  auto next = job_of(on_topic(outputs, "t.delivery.retry").at(0));
  EXPECT_EQ(next.failed_providers, std::vector<std::string>{"alpha"});
}

TEST_F(DeliveryStageTest, LastProviderRefusingFallsBackToTheNextUsableChannel) {
  auto j = job();
  j.failed_providers = {"alpha"};
  j.fallback_channels = {messages::Channel::kEmail, messages::Channel::kWhatsapp};
  auto outputs = stage_.failed(delivery(j, true), "beta", Error{Errc::kPermanent, "400"}, 1ms);
  auto events = on_topic(outputs, "t.events");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(event_of(events[0]).type, "delivery.attempted");
  auto failed = event_of(events[1]);
  EXPECT_EQ(failed.type, "delivery.failed");
  EXPECT_EQ(failed.data.at("fallback_channel"), "whatsapp");  // email cannot reach a phone
  auto fallbacks = on_topic(outputs, "t.delivery.whatsapp");
  ASSERT_EQ(fallbacks.size(), 1U);
  auto next = job_of(fallbacks[0]);
  EXPECT_EQ(next.channel, messages::Channel::kWhatsapp);
  EXPECT_EQ(next.job_id, std::string(kVid) + ":1.whatsapp");
  EXPECT_EQ(next.attempt, 0);
  EXPECT_TRUE(next.failed_providers.empty());
  EXPECT_TRUE(next.fallback_channels.empty());
  EXPECT_EQ(next.sealed_code.data, j.sealed_code.data);
  // The reply headers travel with the fallback job; the reply comes from its final outcome.
  EXPECT_NE(std::find(fallbacks[0].headers.begin(), fallbacks[0].headers.end(),
                      kafka::Header{"delivery_correlation_id", "corr-1"}),
            fallbacks[0].headers.end());
  EXPECT_TRUE(on_topic(outputs, "t.replies").empty());
  EXPECT_TRUE(on_topic(outputs, "t.dlq").empty());
}

TEST_F(DeliveryStageTest, NothingLeftDeadLettersWithDeliveryFailedAndAReply) {
  auto j = job();
  j.failed_providers = {"alpha"};
  auto outputs = stage_.failed(delivery(j, true), "beta", Error{Errc::kPermanent, "400"}, 1ms);
  auto events = on_topic(outputs, "t.events");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(event_of(events[1]).type, "delivery.failed");
  auto parked = on_topic(outputs, "t.dlq");
  ASSERT_EQ(parked.size(), 1U);
  auto header = [&](const std::string& name) {
    for (const auto& [key, value] : parked[0].headers) {
      if (key == name) return value;
    }
    return std::string();
  };
  EXPECT_EQ(header("dlq_source_topic"), "t.delivery.sms");  // redrive goes to the channel topic
  EXPECT_EQ(header("dlq_error_code"), "permanent");
  EXPECT_TRUE(job_of(parked[0]).failed_providers.empty());  // every provider gets a new chance
  auto replies = on_topic(outputs, "t.replies");
  ASSERT_EQ(replies.size(), 1U);
  EXPECT_EQ(messages::decode_reply(replies[0].value)->outcome, messages::Outcome::kDeliveryFailed);
}

TEST_F(DeliveryStageTest, ExpiredEndsTheJobAndReplies) {
  auto d = delivery(job(), true);
  EXPECT_FALSE(stage_.past_deadline(d));
  clock_.advance(9min + 50s);
  EXPECT_TRUE(stage_.past_deadline(d));
  auto outputs = stage_.expired(d);
  EXPECT_EQ(event_of(on_topic(outputs, "t.events").at(0)).type, "delivery.expired");
  EXPECT_EQ(messages::decode_reply(on_topic(outputs, "t.replies").at(0).value)->outcome,
            messages::Outcome::kDeliveryFailed);
}

TEST_F(DeliveryStageTest, TerminalEventIdsIgnoreTheAttemptAttemptedOnesDoNot) {
  auto first = job();
  auto later = job();
  later.attempt = 2;
  auto p1 = stage_.prepare(delivery(first));
  auto sent1 = stage_.sent(delivery(first), ProviderReceipt{.provider = "alpha"}, *p1);
  auto sent2 = stage_.sent(delivery(later), ProviderReceipt{.provider = "alpha"}, *p1);
  EXPECT_EQ(event_of(sent1.at(0)).id, event_of(sent2.at(0)).id);
  auto a1 = stage_.failed(delivery(first), "alpha", Error{Errc::kUnavailable, "x"}, 1ms);
  auto a2 = stage_.failed(delivery(later), "alpha", Error{Errc::kUnavailable, "x"}, 1ms);
  auto a1_again = stage_.failed(delivery(first), "alpha", Error{Errc::kUnavailable, "x"}, 1ms);
  EXPECT_NE(event_of(a1.at(0)).id, event_of(a2.at(0)).id);
  EXPECT_EQ(event_of(a1.at(0)).id, event_of(a1_again.at(0)).id);
}

TEST_F(DeliveryStageTest, DecodeSkipsOtherChannelsRetriesAndRefusesThemOnItsOwnTopic) {
  auto email = job();
  email.channel = messages::Channel::kEmail;
  email.recipient = "a@b.example";
  kafka::Record record;
  record.value = messages::encode(email);
  record.topic = "t.delivery.retry";
  auto skipped = stage_.decode(record);
  ASSERT_TRUE(skipped.has_value());
  EXPECT_FALSE(skipped->has_value());
  record.topic = "t.delivery.sms";
  auto refused = stage_.decode(record);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kInvalidInput);
  record.value = "{not json";
  EXPECT_FALSE(stage_.decode(record).has_value());
}

}  // namespace
}  // namespace otp::delivery
