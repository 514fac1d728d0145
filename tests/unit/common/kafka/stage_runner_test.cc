#include "common/kafka/stage_runner.h"

#include "common/messages/topics.h"
#include "tests/support/in_memory_producer.h"

#include <gtest/gtest.h>

namespace otp::kafka {
namespace {

/// Echoes a record's value to "out", refusing "poison" and failing transiently `transient` times.
struct EchoStage {
  using Input = std::string;
  int transient = 0;
  int handled = 0;

  Result<std::string> decode(const Record& record) {
    if (record.value == "poison") return fail(Errc::kInvalidInput, "not an echo request");
    return record.value;
  }
  Result<std::vector<OutboundRecord>> handle(const std::string& input) {
    ++handled;
    if (transient > 0) {
      --transient;
      return fail(Errc::kUnavailable, "redis down");
    }
    return std::vector<OutboundRecord>{{"out", input, input + "!", {}, std::nullopt},
                                       {"events", input, "seen", {}, std::nullopt}};
  }
};

Record record(std::int64_t offset, std::string value) {
  Record out;
  out.topic = "in";
  out.partition = 2;
  out.offset = offset;
  out.key = "k";
  out.value = std::move(value);
  out.headers = {{"correlation_id", "c-1"}};
  return out;
}

RunnerOptions options() {
  RunnerOptions out;
  out.stage_name = "echo";
  out.dlq_topic = "dlq";
  out.initial_backoff = std::chrono::milliseconds(1);
  out.max_backoff = std::chrono::milliseconds(2);
  return out;
}

TEST(StageRunner, ProducesEveryOutputAndReleasesTheOffsetOnlyAfterAllAcks) {
  EchoStage stage;
  testing::InMemoryProducer producer;
  producer.hold_acks(true);
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  runner.process(record(41, "hi"), stop);
  ASSERT_EQ(producer.records().size(), 2U);
  EXPECT_EQ(producer.records_for("out").at(0).value, "hi!");
  EXPECT_TRUE(runner.tracker().take_ready().empty());
  producer.ack_all();
  auto ready = runner.tracker().take_ready();
  ASSERT_EQ(ready.size(), 1U);
  EXPECT_EQ(ready[0].first, (TopicPartition{"in", 2}));
  EXPECT_EQ(ready[0].second, 42);
}

TEST(StageRunner, PoisonRecordIsDeadLetteredWithItsReasonAndOrigin) {
  EchoStage stage;
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  runner.process(record(7, "poison"), stop);
  auto parked = producer.records_for("dlq");
  ASSERT_EQ(parked.size(), 1U);
  EXPECT_EQ(parked[0].value, "poison");
  EXPECT_EQ(parked[0].key, "k");
  auto header = [&](const std::string& name) {
    for (const auto& [key, value] : parked[0].headers) {
      if (key == name) return value;
    }
    return std::string("<missing>");
  };
  EXPECT_EQ(header(messages::kHeaderDlqReason), "not an echo request");
  EXPECT_EQ(header(messages::kHeaderDlqErrorCode), "invalid_input");
  EXPECT_EQ(header(messages::kHeaderDlqSourceTopic), "in");
  EXPECT_EQ(header(messages::kHeaderDlqSourcePartition), "2");
  EXPECT_EQ(header(messages::kHeaderDlqSourceOffset), "7");
  EXPECT_EQ(header(messages::kHeaderDlqStage), "echo");
  EXPECT_EQ(header("correlation_id"), "c-1");
  EXPECT_EQ(stage.handled, 0);
  EXPECT_EQ(runner.tracker().take_ready().at(0).second, 8);
}

TEST(StageRunner, TransientFailureRetriesTheSameRecordUntilItSucceeds) {
  EchoStage stage;
  stage.transient = 3;
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  runner.process(record(1, "again"), stop);
  EXPECT_EQ(stage.handled, 4);
  EXPECT_EQ(producer.records_for("out").size(), 1U);
  EXPECT_TRUE(producer.records_for("dlq").empty());
}

TEST(StageRunner, StopWhileRetryingLeavesTheOffsetUnstored) {
  EchoStage stage;
  stage.transient = 1'000'000;
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{true};
  runner.process(record(1, "never"), stop);
  EXPECT_TRUE(producer.records().empty());
  EXPECT_TRUE(runner.tracker().take_ready().empty());
  EXPECT_EQ(runner.tracker().in_flight(), 0U);
}

TEST(StageRunner, FullProducerQueueIsRetriedNotDropped) {
  EchoStage stage;
  testing::InMemoryProducer producer;
  producer.refuse_next(3);
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  runner.process(record(5, "busy"), stop);
  EXPECT_EQ(producer.records().size(), 2U);
  EXPECT_EQ(runner.tracker().take_ready().at(0).second, 6);
}

TEST(StageRunner, UnacknowledgedOutputIsAFailureAndBlocksTheOffset) {
  EchoStage stage;
  testing::InMemoryProducer producer;
  producer.hold_acks(true);
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  runner.process(record(9, "lost"), stop);
  producer.fail_all();
  EXPECT_TRUE(runner.tracker().take_ready().empty());
  EXPECT_TRUE(runner.tracker().failure().has_value());
}

}  // namespace
}  // namespace otp::kafka
