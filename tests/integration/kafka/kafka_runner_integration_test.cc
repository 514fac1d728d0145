// StageRunner and BatchRunner against the real broker: at-least-once, offsets stored only after
// outputs are acknowledged, poison records dead-lettered, nothing skipped across restarts.

#include "common/kafka/admin.h"
#include "common/kafka/batch_runner.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/stage_runner.h"
#include "common/messages/topics.h"
#include "common/random/rng.h"
#include "tests/support/stack_env.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>
#include <set>
#include <thread>

namespace otp::kafka {
namespace {

using namespace std::chrono_literals;
using test::eventually;

KafkaSettings settings() {
  const char* brokers = std::getenv("OTP_TEST_KAFKA_BROKERS");
  if (brokers == nullptr) {
    ADD_FAILURE() << "OTP_TEST_KAFKA_BROKERS is not set: run the suite with scripts/test";
    return {};
  }
  return KafkaSettings{.brokers = brokers, .client_id = "it-kafka", .properties = {}};
}

/// Uppercases values into `out`; refuses "poison"; fails transiently while `down` is set.
struct UpperStage {
  using Input = std::string;
  std::string out_topic;
  std::atomic<bool> down{false};
  std::atomic<int> handled{0};

  Result<std::string> decode(const Record& record) {
    if (record.value == "poison") return fail(Errc::kInvalidInput, "poison record");
    return record.value;
  }
  Result<std::vector<OutboundRecord>> handle(const std::string& value) {
    if (down.load()) return fail(Errc::kUnavailable, "dependency down");
    ++handled;
    std::string upper = value;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return std::vector<OutboundRecord>{{out_topic, value, upper, {}, std::nullopt}};
  }
};

class KafkaRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_ = settings();
    ASSERT_FALSE(HasFailure());
    OpenSslRng rng;
    prefix_ = "it" + random_hex(rng, 4) + ".";
    topics_ = messages::Topics::with_prefix(prefix_);
    auto created = ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    auto producer = KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value());
    producer_ = std::move(*producer);
  }

  void publish(const std::string& topic, const std::vector<std::string>& values) {
    std::vector<OutboundRecord> records;
    for (const auto& value : values) records.push_back({topic, "k", value, {}, 0});
    auto sent = publish_and_wait(*producer_, records, 30s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  /// Reads `topic` from the beginning (a fresh group) until `count` records or `limit`.
  std::vector<Record> read(const std::string& topic, std::size_t count,
                           std::chrono::milliseconds limit = 30s) {
    auto consumer = Consumer::create(settings_, "reader-" + prefix_ + topic);
    EXPECT_TRUE(consumer.has_value());
    EXPECT_TRUE((*consumer)->subscribe({topic}).has_value());
    std::vector<Record> records;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
      auto polled = (*consumer)->poll(100ms);
      if (polled && *polled) records.push_back(std::move(**polled));
    }
    (*consumer)->close();
    return records;
  }

  /// Runs the stage in group `group` until `until()` holds (or 30 s), then stops it gracefully.
  template <class Until>
  void run_stage(UpperStage& stage, const std::string& group, Until until) {
    auto consumer = Consumer::create(settings_, group);
    ASSERT_TRUE(consumer.has_value());
    ASSERT_TRUE((*consumer)->subscribe({topics_.send_requests}).has_value());
    StageRunner runner(stage, *producer_,
                       RunnerOptions{.stage_name = "upper",
                                     .dlq_topic = topics_.dlq,
                                     .poll_timeout = 50ms,
                                     .initial_backoff = 10ms,
                                     .max_backoff = 50ms});
    std::atomic<bool> stop{false};
    Result<void> outcome;
    std::thread worker([&] { outcome = runner.run(**consumer, stop); });
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!until() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    stop = true;
    worker.join();
    EXPECT_TRUE(outcome.has_value()) << outcome.error().message;
  }

  /// A BatchRunner's options for a CollectingSink: batches of 100 or 50 ms, retried with backoff
  /// from `initial` doubling to `max`.
  RunnerOptions sink_options(std::chrono::milliseconds initial, std::chrono::milliseconds max) {
    return RunnerOptions{.stage_name = "sink",
                         .dlq_topic = topics_.dlq,
                         .poll_timeout = 50ms,
                         .initial_backoff = initial,
                         .max_backoff = max,
                         .batch_size = 100,
                         .batch_age = 50ms};
  }

  KafkaSettings settings_;
  std::string prefix_;
  messages::Topics topics_;
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_F(KafkaRunnerTest, ProcessesEveryRecordOnceAndCommitsSoARestartStartsAfterThem) {
  publish(topics_.send_requests, {"a", "b", "c", "poison", "d"});
  UpperStage stage{.out_topic = topics_.replies};
  run_stage(stage, "g-" + prefix_, [&] { return stage.handled.load() == 4; });
  EXPECT_EQ(stage.handled.load(), 4);

  auto out = read(topics_.replies, 4);
  // Outputs are keyed by value, so they spread over partitions: compare them as a set.
  std::multiset<std::string> values;
  for (const auto& record : out) values.insert(record.value);
  EXPECT_EQ(values, (std::multiset<std::string>{"A", "B", "C", "D"}));

  auto parked = read(topics_.dlq, 1);
  ASSERT_EQ(parked.size(), 1U);
  EXPECT_EQ(parked[0].value, "poison");
  EXPECT_EQ(parked[0].header(messages::kHeaderDlqReason), "poison record");
  EXPECT_EQ(parked[0].header(messages::kHeaderDlqSourceTopic), topics_.send_requests);
  EXPECT_EQ(parked[0].header(messages::kHeaderDlqSourceOffset), "3");

  // Same group again: the committed offsets mean nothing is reprocessed; new records are.
  publish(topics_.send_requests, {"e"});
  UpperStage again{.out_topic = topics_.replies};
  run_stage(again, "g-" + prefix_, [&] { return again.handled.load() >= 1; });
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(again.handled.load(), 1) << "records before the commit were processed again";
}

TEST_F(KafkaRunnerTest, RecordFailingWhenStoppedIsProcessedByTheNextRunNotSkipped) {
  publish(topics_.send_requests, {"x", "y"});
  UpperStage failing{.out_topic = topics_.replies};
  failing.down = true;
  // Stop while the first record is still failing: no offset may be stored.
  auto consumer = Consumer::create(settings_, "g-" + prefix_);
  ASSERT_TRUE(consumer.has_value());
  ASSERT_TRUE((*consumer)->subscribe({topics_.send_requests}).has_value());
  StageRunner runner(failing, *producer_,
                     RunnerOptions{.stage_name = "upper",
                                   .dlq_topic = topics_.dlq,
                                   .poll_timeout = 50ms,
                                   .initial_backoff = 10ms,
                                   .max_backoff = 20ms});
  std::atomic<bool> stop{false};
  std::thread worker([&] { (void)runner.run(**consumer, stop); });
  std::this_thread::sleep_for(8s);  // group join plus a few failed tries
  stop = true;
  worker.join();
  EXPECT_EQ(failing.handled.load(), 0);

  UpperStage healthy{.out_topic = topics_.replies};
  run_stage(healthy, "g-" + prefix_, [&] { return healthy.handled.load() == 2; });
  EXPECT_EQ(healthy.handled.load(), 2) << "a record that never succeeded was skipped";
}

/// Collects values; fails writes while `down` is set.
struct CollectingSink {
  using Input = std::string;
  std::atomic<bool> down{false};
  std::mutex mutex;
  std::vector<std::string> written;

  Result<std::string> decode(const Record& record) {
    if (record.value.empty()) return fail(Errc::kInvalidInput, "empty");
    return record.value;
  }
  Result<void> write(std::span<const std::string> batch) {
    if (down.load()) return fail(Errc::kUnavailable, "database down");
    std::lock_guard lock(mutex);
    written.insert(written.end(), batch.begin(), batch.end());
    return {};
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return written.size();
  }
};

TEST_F(KafkaRunnerTest, BatchRunnerWritesEverythingAndRetriesAFailedWrite) {
  std::vector<std::string> values;
  for (int i = 0; i < 250; ++i) values.push_back("e" + std::to_string(i));
  values.emplace_back("");  // poison
  publish(topics_.events, values);

  CollectingSink sink;
  sink.down = true;
  auto consumer = Consumer::create(settings_, "audit-" + prefix_);
  ASSERT_TRUE(consumer.has_value());
  ASSERT_TRUE((*consumer)->subscribe({topics_.events}).has_value());
  BatchRunner runner(sink, *producer_, sink_options(10ms, 50ms));
  std::atomic<bool> stop{false};
  std::thread worker([&] { (void)runner.run(**consumer, stop); });
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(sink.count(), 0U);
  sink.down = false;  // the database comes back
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (sink.count() < 250 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  worker.join();
  std::set<std::string> unique(sink.written.begin(), sink.written.end());
  EXPECT_EQ(unique.size(), 250U);
  EXPECT_EQ(read(topics_.dlq, 1).size(), 1U);
}

TEST_F(KafkaRunnerTest, WarmUpKnowsExistingTopicsAndRefusesUnknownOnes) {
  EXPECT_TRUE(producer_->warm_up({topics_.send_requests, topics_.events}, 10s).has_value());
  auto unknown = producer_->warm_up({prefix_ + "no-such-topic"}, 1s);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("no-such-topic"), std::string::npos);
}

/// Collects every log line written while it is installed as the default logger.
class CapturedLogs {
 public:
  CapturedLogs()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10'000)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("captured", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLogs() { spdlog::set_default_logger(previous_); }
  [[nodiscard]] int count(const std::string& needle) const {
    int found = 0;
    for (const auto& line : sink_->last_formatted()) {
      if (line.find(needle) != std::string::npos) ++found;
    }
    return found;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(KafkaRunnerTest, OutageLongerThanMaxPollIntervalKeepsTheMembershipAndLosesNothing) {
  publish(topics_.send_requests, {"p", "q"});
  // A 7 s poll interval stands in for the default 5 min; the stage fails for 12 s.
  auto short_interval = settings_;
  short_interval.properties = {{"session.timeout.ms", "6000"}, {"max.poll.interval.ms", "7000"}};
  auto consumer = Consumer::create(short_interval, "g-" + prefix_);
  ASSERT_TRUE(consumer.has_value());
  ASSERT_TRUE((*consumer)->subscribe({topics_.send_requests}).has_value());

  CapturedLogs logs;
  UpperStage stage{.out_topic = topics_.replies};
  stage.down = true;
  StageRunner runner(stage, *producer_,
                     RunnerOptions{.stage_name = "upper",
                                   .dlq_topic = topics_.dlq,
                                   .poll_timeout = 50ms,
                                   .initial_backoff = 100ms,
                                   .max_backoff = 1s});
  std::atomic<bool> stop{false};
  Result<void> outcome;
  std::thread worker([&] { outcome = runner.run(**consumer, stop); });
  // EXPECT, not ASSERT: the worker thread must be joined whatever happens.
  EXPECT_TRUE(eventually(20s, [&] { return logs.count("upper.retry") > 0; }));
  std::this_thread::sleep_for(12s);
  stage.down = false;
  EXPECT_TRUE(eventually(20s, [&] { return stage.handled.load() == 2; }));
  stop = true;
  worker.join();
  EXPECT_TRUE(outcome.has_value());
  EXPECT_EQ(stage.handled.load(), 2);
  EXPECT_EQ(logs.count("kafka.revoked"), 1) << "only the revoke of the final close is expected";
  EXPECT_EQ(logs.count("maximum poll interval"), 0);
  auto out = read(topics_.replies, 2);
  std::multiset<std::string> values;
  for (const auto& record : out) values.insert(record.value);
  EXPECT_EQ(values, (std::multiset<std::string>{"P", "Q"}));
}

// librdkafka keeps a partition's pause flag across an unassign: a partition revoked while a retry
// had it paused came back paused and was never read again. Found when otp-audit, retrying a write
// through a PostgreSQL restart, lost its partitions to a second member and stopped for good.
TEST_F(KafkaRunnerTest, PartitionsRevokedDuringARetryAreReadAgainWhenAssignedBack) {
  std::vector<std::string> values;
  for (int i = 0; i < 60; ++i) values.push_back("r" + std::to_string(i));
  publish(topics_.events, values);

  CollectingSink sink;
  sink.down = true;
  const std::string group = "audit-" + prefix_;
  auto consumer = Consumer::create(settings_, group);
  ASSERT_TRUE(consumer.has_value());
  ASSERT_TRUE((*consumer)->subscribe({topics_.events}).has_value());
  CapturedLogs logs;
  BatchRunner runner(sink, *producer_, sink_options(200ms, 400ms));
  std::atomic<bool> stop{false};
  std::thread worker([&] { (void)runner.run(**consumer, stop); });
  // EXPECT, not ASSERT: the threads must be joined whatever happens.
  EXPECT_TRUE(eventually(20s, [&] { return logs.count("sink.write_retry") > 0; }));

  // A second member joins while the write is failing (the runner's partitions paused), the write
  // then succeeds, and the second member leaves again: every partition returns to the runner.
  std::atomic<bool> second_done{false};
  std::thread second([&] {
    auto other = Consumer::create(settings_, group);
    if (!other || !(*other)->subscribe({topics_.events})) return;
    while (!second_done.load()) (void)(*other)->poll(50ms);  // reads, never stores an offset
    (*other)->close();
  });
  EXPECT_TRUE(eventually(30s, [&] { return logs.count("kafka.revoked") > 0; }));
  sink.down = false;
  EXPECT_TRUE(eventually(30s, [&] { return logs.count("kafka.assigned") >= 2; }));
  std::this_thread::sleep_for(2s);
  second_done = true;
  second.join();

  std::vector<std::string> later;
  for (int i = 0; i < 60; ++i) later.push_back("s" + std::to_string(i));
  publish(topics_.events, later);
  auto distinct = [&] {
    std::lock_guard lock(sink.mutex);
    return std::set<std::string>(sink.written.begin(), sink.written.end()).size();
  };
  EXPECT_TRUE(eventually(30s, [&] { return distinct() == 120; }));
  stop = true;
  worker.join();
  EXPECT_EQ(distinct(), 120U) << "a partition that came back paused was never read again";
}

}  // namespace
}  // namespace otp::kafka
