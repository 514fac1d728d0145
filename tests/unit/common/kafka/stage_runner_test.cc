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

/// EchoStage that also handles batches: records every batch it was given, and fails the record
/// whose value is `fail_value` (retryably `transient` times, or for good when it is "bad").
struct BatchingEchoStage : EchoStage {
  std::vector<std::vector<std::string>> batches;
  std::string fail_value;

  std::vector<Result<std::vector<OutboundRecord>>> handle_batch(
      std::span<const std::string> inputs) {
    batches.emplace_back(inputs.begin(), inputs.end());
    std::vector<Result<std::vector<OutboundRecord>>> out;
    for (const auto& input : inputs) {
      if (input == "bad") {
        out.push_back(fail(Errc::kInvalidInput, "bad request"));
      } else if (!fail_value.empty() && input == fail_value && transient > 0) {
        --transient;
        out.push_back(fail(Errc::kUnavailable, "redis down"));
      } else {
        out.push_back(std::vector<OutboundRecord>{{"out", input, input + "!", {}, std::nullopt}});
      }
    }
    return out;
  }
};
static_assert(BatchingPipelineStage<BatchingEchoStage>);
static_assert(!BatchingPipelineStage<EchoStage>);

std::vector<std::string> values_of(const std::vector<OutboundRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.value);
  return out;
}

TEST(StageRunnerBatch, OneBatchCallProducesEveryOutputInOrderAndStoresThePastOffset) {
  BatchingEchoStage stage;
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  const std::vector<Record> records{record(10, "a"), record(11, "b"), record(12, "c")};
  runner.process_batch(records, stop);
  ASSERT_EQ(stage.batches.size(), 1U);
  EXPECT_EQ(stage.batches[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(stage.handled, 0);  // not one by one
  EXPECT_EQ(values_of(producer.records_for("out")), (std::vector<std::string>{"a!", "b!", "c!"}));
  EXPECT_EQ(runner.tracker().take_ready().at(0).second, 13);
}

TEST(StageRunnerBatch, PoisonRecordsAreDeadLetteredInPlaceAndTheRestGoOn) {
  BatchingEchoStage stage;
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  // "poison" fails decoding, "bad" fails handling for good: both parked, neither stops the batch.
  const std::vector<Record> records{record(1, "a"), record(2, "poison"), record(3, "bad"),
                                    record(4, "d")};
  runner.process_batch(records, stop);
  ASSERT_EQ(stage.batches.size(), 1U);
  EXPECT_EQ(stage.batches[0], (std::vector<std::string>{"a", "bad", "d"}));
  EXPECT_EQ(values_of(producer.records_for("dlq")), (std::vector<std::string>{"poison", "bad"}));
  EXPECT_EQ(values_of(producer.records_for("out")), (std::vector<std::string>{"a!", "d!"}));
  // In partition order: out a, dlq poison, dlq bad, out d.
  EXPECT_EQ(values_of(producer.records()), (std::vector<std::string>{"a!", "poison", "bad", "d!"}));
  EXPECT_EQ(runner.tracker().take_ready().at(0).second, 5);
}

TEST(StageRunnerBatch, FromTheFirstRetryableFailureOnRecordsAreRetriedOneByOneInOrder) {
  BatchingEchoStage stage;
  stage.fail_value = "b";
  stage.transient = 1;  // the batch fails "b" once; `handle` (one by one) then succeeds
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  const std::vector<Record> records{record(20, "a"), record(21, "b"), record(22, "c")};
  runner.process_batch(records, stop);
  // "a" from the batch; "b" and "c" again through `handle`, after "a", in order.
  EXPECT_EQ(values_of(producer.records_for("out")), (std::vector<std::string>{"a!", "b!", "c!"}));
  EXPECT_EQ(stage.handled, 2);
  EXPECT_EQ(runner.tracker().take_ready().at(0).second, 23);
}

TEST(StageRunnerBatch, StopDuringTheOneByOneRetriesStoresNothingPastTheUnfinishedRecord) {
  BatchingEchoStage stage;
  stage.fail_value = "b";
  stage.transient = 1'000'000;  // "b" never succeeds, in the batch or one by one
  testing::InMemoryProducer producer;
  StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{true};
  const std::vector<Record> records{record(30, "a"), record(31, "b"), record(32, "c")};
  runner.process_batch(records, stop);
  // "a" is done; "b" was not, so "c" must not be either (its offset would skip "b").
  EXPECT_EQ(values_of(producer.records_for("out")), (std::vector<std::string>{"a!"}));
  EXPECT_EQ(runner.tracker().take_ready().at(0).second, 31);
}

}  // namespace
}  // namespace otp::kafka
