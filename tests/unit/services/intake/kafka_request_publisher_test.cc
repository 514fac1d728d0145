#include "services/intake/kafka_request_publisher.h"

#include "common/messages/topics.h"
#include "tests/support/in_memory_producer.h"
#include "tests/support/seeded_rng.h"
#include "tests/unit/services/intake/intake_fakes.h"

#include <gtest/gtest.h>

#include <vector>

namespace otp::intake {
namespace {

using namespace std::chrono_literals;

kafka::OutboundRecord request_record() {
  return kafka::OutboundRecord{.topic = "t.send-requests",
                               .key = "acme:+14155552671",
                               .value = "{}",
                               .headers = {},
                               .partition = std::nullopt};
}

class KafkaRequestPublisherTest : public ::testing::Test {
 protected:
  ReplyCallback record_result() {
    return [this](const ReplyResult& result) { results_.push_back(result); };
  }

  otp::testing::InMemoryProducer producer_;
  PendingReplies pending_;
  testing::FakeReadiness readiness_;
  test::SeededRng rng_;
  KafkaRequestPublisher publisher_{
      producer_, pending_, readiness_, rng_,
      KafkaRequestPublisher::Settings{.reply_partition = 3, .reply_timeout = 3s}};
  std::vector<ReplyResult> results_;
};

TEST_F(KafkaRequestPublisherTest, AddsCorrelationAndReplyPartitionHeaders) {
  publisher_.publish(request_record(), record_result());

  const auto records = producer_.records();
  ASSERT_EQ(records.size(), 1U);
  kafka::Record as_consumed;
  as_consumed.headers = records[0].headers;
  const auto correlation_id = as_consumed.header(messages::kHeaderCorrelationId);
  ASSERT_TRUE(correlation_id.has_value());
  EXPECT_EQ(correlation_id->size(), 36U);  // a UUID
  EXPECT_EQ(as_consumed.header(messages::kHeaderReplyPartition), "3");
  EXPECT_EQ(pending_.size(), 1U);
  EXPECT_TRUE(results_.empty());
}

TEST_F(KafkaRequestPublisherTest, TheMatchingReplyCompletesTheRequest) {
  publisher_.publish(request_record(), record_result());
  kafka::Record as_consumed;
  as_consumed.headers = producer_.records().at(0).headers;
  auto reply = testing::make_reply(messages::RequestKind::kSend, messages::Outcome::kPending);
  reply.correlation_id = *as_consumed.header(messages::kHeaderCorrelationId);

  EXPECT_TRUE(pending_.complete(reply));

  ASSERT_EQ(results_.size(), 1U);
  ASSERT_TRUE(results_[0].has_value());
  EXPECT_EQ(results_[0]->correlation_id, reply.correlation_id);
}

TEST_F(KafkaRequestPublisherTest, RefusedEnqueueIsUnavailableAtOnce) {
  producer_.refuse_next(1);
  publisher_.publish(request_record(), record_result());
  ASSERT_EQ(results_.size(), 1U);
  EXPECT_EQ(results_[0].error().code, Errc::kUnavailable);
  EXPECT_EQ(pending_.size(), 0U);
}

TEST_F(KafkaRequestPublisherTest, FailedDeliveryIsUnavailable) {
  producer_.hold_acks(true);
  publisher_.publish(request_record(), record_result());
  EXPECT_TRUE(results_.empty());
  producer_.fail_all();
  ASSERT_EQ(results_.size(), 1U);
  EXPECT_EQ(results_[0].error().code, Errc::kUnavailable);
}

TEST_F(KafkaRequestPublisherTest, DeadlineAfterAcknowledgementIsATimeout) {
  publisher_.publish(request_record(), record_result());  // acknowledged at once
  pending_.expire_due(std::chrono::steady_clock::now() + 1h);
  ASSERT_EQ(results_.size(), 1U);
  EXPECT_EQ(results_[0].error().code, Errc::kTimeout);
}

TEST_F(KafkaRequestPublisherTest, DeadlineWithoutAcknowledgementIsUnavailable) {
  producer_.hold_acks(true);
  publisher_.publish(request_record(), record_result());
  pending_.expire_due(std::chrono::steady_clock::now() + 1h);
  ASSERT_EQ(results_.size(), 1U);
  EXPECT_EQ(results_[0].error().code, Errc::kUnavailable);
  producer_.ack_all();  // a late acknowledgement changes nothing
  EXPECT_EQ(results_.size(), 1U);
}

TEST_F(KafkaRequestPublisherTest, NothingIsPublishedWhileRepliesCannotBeReceived) {
  readiness_.accepting = false;
  publisher_.publish(request_record(), record_result());
  EXPECT_TRUE(producer_.records().empty());
  ASSERT_EQ(results_.size(), 1U);
  EXPECT_EQ(results_[0].error().code, Errc::kUnavailable);
}

// ---- publish_only (Prefer: respond-async) ----------------------------------------------------

class PublishOnlyTest : public KafkaRequestPublisherTest {
 protected:
  PublishCallback record_published() {
    return [this](const Result<void>& published) { published_.push_back(published); };
  }

  std::vector<Result<void>> published_;
};

TEST_F(PublishOnlyTest, NoReplyHeadersNothingPendingAndSuccessOnlyOnTheAck) {
  producer_.hold_acks(true);
  publisher_.publish_only(request_record(), record_published());

  const auto records = producer_.records();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_TRUE(records[0].headers.empty());  // the generator answers nobody
  EXPECT_EQ(records[0].key, "acme:+14155552671");
  EXPECT_EQ(pending_.size(), 0U);
  EXPECT_TRUE(published_.empty());  // not before the broker acknowledged it

  producer_.ack_all();
  ASSERT_EQ(published_.size(), 1U);
  EXPECT_TRUE(published_[0].has_value());
}

TEST_F(PublishOnlyTest, FailedDeliveryIsUnavailable) {
  producer_.hold_acks(true);
  publisher_.publish_only(request_record(), record_published());
  producer_.fail_all();
  ASSERT_EQ(published_.size(), 1U);
  ASSERT_FALSE(published_[0].has_value());
  EXPECT_EQ(published_[0].error().code, Errc::kUnavailable);
}

TEST_F(PublishOnlyTest, RefusedEnqueueIsUnavailableOnce) {
  producer_.refuse_next(1);
  publisher_.publish_only(request_record(), record_published());
  producer_.ack_all();
  ASSERT_EQ(published_.size(), 1U);
  EXPECT_EQ(published_[0].error().code, Errc::kUnavailable);
}

TEST_F(PublishOnlyTest, RefusedWhileTheIntakeIsNotAcceptingRequests) {
  readiness_.accepting = false;
  publisher_.publish_only(request_record(), record_published());
  EXPECT_TRUE(producer_.records().empty());
  ASSERT_EQ(published_.size(), 1U);
  EXPECT_EQ(published_[0].error().code, Errc::kUnavailable);
}

}  // namespace
}  // namespace otp::intake
