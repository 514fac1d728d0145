#include "common/kafka/split_producer.h"

#include "tests/support/in_memory_producer.h"

#include <gtest/gtest.h>

namespace otp::kafka {
namespace {

OutboundRecord to(const std::string& topic, const std::string& value) {
  return {.topic = topic, .key = "k", .value = value, .headers = {}, .partition = std::nullopt};
}

TEST(SplitProducer, SendsTheUrgentTopicsThroughOneProducerAndTheRestThroughTheOther) {
  testing::InMemoryProducer urgent;
  testing::InMemoryProducer rest;
  SplitProducer producer(urgent, {"otp.replies"}, rest);

  int acked = 0;
  const auto count = [&](const Result<void>& outcome) {
    EXPECT_TRUE(outcome.has_value());
    ++acked;
  };
  ASSERT_TRUE(producer.produce(to("otp.replies", "r1"), count));
  ASSERT_TRUE(producer.produce(to("otp.events", "e1"), count));
  ASSERT_TRUE(producer.produce(to("otp.delivery.sms", "j1"), count));
  ASSERT_TRUE(producer.produce(to("otp.replies", "r2"), count));

  ASSERT_EQ(urgent.records().size(), 2u);
  EXPECT_EQ(urgent.records()[0].value, "r1");
  EXPECT_EQ(urgent.records()[1].value, "r2");
  ASSERT_EQ(rest.records().size(), 2u);
  EXPECT_EQ(rest.records()[0].value, "e1");
  EXPECT_EQ(rest.records()[1].value, "j1");
  EXPECT_EQ(acked, 4) << "every delivery callback reaches the caller";
}

TEST(SplitProducer, AFullQueueIsTheCallersError) {
  testing::InMemoryProducer urgent;
  testing::InMemoryProducer rest;
  SplitProducer producer(urgent, {"otp.replies"}, rest);
  rest.refuse_next(1);
  EXPECT_FALSE(producer.produce(to("otp.events", "e1"), nullptr));
  EXPECT_TRUE(producer.produce(to("otp.replies", "r1"), nullptr));
}

TEST(SplitProducer, FlushWaitsForBoth) {
  testing::InMemoryProducer urgent;
  testing::InMemoryProducer rest;
  SplitProducer producer(urgent, {"otp.replies"}, rest);
  rest.hold_acks(true);
  ASSERT_TRUE(producer.produce(to("otp.events", "e1"), nullptr));
  EXPECT_FALSE(producer.flush(std::chrono::milliseconds(10))) << "an event is not acknowledged";
  rest.ack_all();
  EXPECT_TRUE(producer.flush(std::chrono::milliseconds(10)));

  urgent.hold_acks(true);
  ASSERT_TRUE(producer.produce(to("otp.replies", "r1"), nullptr));
  EXPECT_FALSE(producer.flush(std::chrono::milliseconds(10))) << "a reply is not acknowledged";
  urgent.ack_all();
  EXPECT_TRUE(producer.flush(std::chrono::milliseconds(10)));
}

}  // namespace
}  // namespace otp::kafka
