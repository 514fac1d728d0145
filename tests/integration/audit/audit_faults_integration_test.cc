// Fault injection against the real otp-audit binary, black-box: events go onto a unique events
// topic of the real broker (OTP_TEST_KAFKA_BROKERS), otp-audit writes them to PostgreSQL, and
// the test reads the tables.
//
// - A crash between the database commit and the offset store (OTP_AUDIT_CRASH_AFTER_COMMIT=1:
//   `_exit(137)` right after the first commit, what `kill -9` at that instant does): the restart
//   replays the committed batch, and nothing is stored twice or counted twice.
// - PostgreSQL stopped with `pg_ctl stop -m immediate` while batches are being written (a
//   private cluster, so the shared stack is not disturbed), then started again: nothing lost,
//   nothing duplicated, and otp-audit never exited.

#include "common/kafka/admin.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "tests/integration/audit/private_postgres.h"
#include "tests/integration/audit/test_database.h"
#include "tests/support/stack_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace otp::audit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class AuditFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = test::required_env("OTP_TEST_KAFKA_BROKERS");
    ASSERT_FALSE(brokers_.empty());
    OpenSslRng rng;
    run_id_ = random_hex(rng, 6);
    prefix_ = "audit-faults-" + run_id_ + ".";
    settings_ = kafka::KafkaSettings{
        .brokers = brokers_, .client_id = "otp-audit-faults-" + run_id_, .properties = {}};
    topics_ = messages::Topics::with_prefix(prefix_);
    auto ensured = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(ensured.has_value()) << ensured.error().message;
    auto producer = kafka::KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);
  }

  void use_database(const std::string& server_url) {
    auto database = test::TestDatabase::create(server_url, OTP_SCHEMA_SQL_DIR);
    ASSERT_TRUE(database.has_value()) << database.error().message;
    database_ = std::move(*database);
    reader_ = std::make_unique<pg::PgConnection>(config::Secret(database_->url()),
                                                 pg::PgOptions{.application_name = "otp-test"});
  }

  void TearDown() override {
    audit_.reset();
    producer_.reset();
    reader_.reset();
    database_.reset();
  }

  /// Four events per verification (created, sent, one failed check, approved), `count` of them.
  std::vector<messages::Event> verifications(std::size_t first, std::size_t count) {
    std::vector<messages::Event> events;
    for (std::size_t i = first; i < first + count; ++i) {
      auto vid =
          "otp_" + run_id_ + std::string(26 - run_id_.size(), '0') + std::to_string(100000 + i);
      auto at = [](std::int64_t ms) { return from_unix_ms(1'800'000'000'000 + ms); };
      auto event = [&](const std::string& suffix, const std::string& type, std::int64_t ms,
                       json data) {
        return messages::Event{.id = run_id_ + "-" + std::to_string(i) + suffix,
                               .type = type,
                               .source = "otp-test",
                               .time = at(ms),
                               .tenant = "dev",
                               .verification_id = vid,
                               .data = std::move(data)};
      };
      events.push_back(event("-c", "verification.created", 0,
                             {{"channel", "sms"},
                              {"recipient_masked", "+1415*****71"},
                              {"expires_at", format_rfc3339(at(600'000))},
                              {"max_attempts", 5}}));
      events.push_back(event("-s", "delivery.sent", 900,
                             {{"channel", "sms"},
                              {"provider", "twilio"},
                              {"provider_message_id", "SM" + std::to_string(i)},
                              {"latency_ms", 300},
                              {"segments", 1}}));
      events.push_back(
          event("-f", "verification.check_failed", 20'000, {{"attempts_remaining", 4}}));
      events.push_back(event("-a", "verification.approved", 30'000, json::object()));
    }
    return events;
  }

  void publish(const std::vector<messages::Event>& events) {
    std::vector<kafka::OutboundRecord> records;
    for (const auto& event : events) {
      records.push_back({.topic = topics_.events,
                         .key = event.verification_id,
                         .value = messages::encode(event),
                         .headers = {},
                         .partition = std::nullopt});
    }
    auto sent = kafka::publish_and_wait(*producer_, records, 60s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  void start_audit(std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> env = {
        {"OTP_KAFKA_BROKERS", brokers_},
        {"OTP_TOPIC_PREFIX", prefix_},
        {"OTP_CONSUMER_GROUP", prefix_ + "otp-audit"},
        {"OTP_PG_URL", database_->url()},
        {"OTP_AUDIT_BATCH_SIZE", "200"},
        {"OTP_AUDIT_BATCH_MS", "50"},
        {"OTP_LOG_LEVEL", "info"}};
    for (auto& item : extra) env.push_back(std::move(item));
    auto audit = test::Subprocess::start({OTP_AUDIT_BIN}, env,
                                         ::testing::TempDir() + "otp-audit-" + run_id_ + ".log");
    ASSERT_TRUE(audit.has_value()) << audit.error().message;
    audit_ = std::make_unique<test::Subprocess>(std::move(*audit));
  }

  /// One number from `sql`, or -1 when the query fails (the server may be down).
  long long number(const std::string& sql) {
    auto rows = reader_->exec(sql);
    if (!rows || rows->size() != 1 || !(*rows)[0][0]) return -1;
    return std::stoll(*(*rows)[0][0]);
  }

  /// Every event stored once, every verification projected once with its one failed check.
  void expect_exactly_once(long long verifications) {
    EXPECT_EQ(number("SELECT count(*) FROM otp_events"), 4 * verifications);
    EXPECT_EQ(number("SELECT count(DISTINCT id) FROM otp_events"), 4 * verifications);
    EXPECT_EQ(number("SELECT count(*) FROM otp_event_ids"), 4 * verifications);
    EXPECT_EQ(number("SELECT count(*) FROM verifications"), verifications);
    EXPECT_EQ(number("SELECT count(*) FROM verifications WHERE attempts = 1"
                     " AND status = 'approved' AND delivery_status = 'sent'"
                     " AND created_at IS NOT NULL"),
              verifications);
  }

  std::string brokers_;
  std::string run_id_;
  std::string prefix_;
  kafka::KafkaSettings settings_;
  messages::Topics topics_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<test::TestDatabase> database_;
  std::unique_ptr<pg::PgConnection> reader_;
  std::unique_ptr<test::Subprocess> audit_;
};

TEST_F(AuditFaultsTest, CrashBetweenCommitAndOffsetStoreReplaysWithoutDuplicates) {
  use_database(test::required_env("OTP_TEST_PG_URL"));
  ASSERT_TRUE(database_);
  constexpr long long kVerifications = 500;
  publish(verifications(0, kVerifications));

  start_audit({{"OTP_AUDIT_CRASH_AFTER_COMMIT", "1"}});
  ASSERT_TRUE(test::eventually(60s, [&] { return !audit_->running(); }))
      << "otp-audit did not crash after its first commit";
  EXPECT_EQ(audit_->exit_status(), 137);
  auto committed = number("SELECT count(*) FROM otp_events");
  // The first batch is committed, its offsets are not stored.
  EXPECT_GT(committed, 0);
  EXPECT_LT(committed, 4 * kVerifications);

  start_audit();
  EXPECT_TRUE(test::eventually(
      90s, [&] { return number("SELECT count(*) FROM otp_events") >= 4 * kVerifications; }));
  // Let it settle past any replay, then check nothing was stored or counted twice.
  std::this_thread::sleep_for(1s);
  expect_exactly_once(kVerifications);
  EXPECT_TRUE(audit_->running());
}

TEST_F(AuditFaultsTest, PostgresImmediateStopMidStreamLosesAndDuplicatesNothing) {
  auto server = test::PrivatePostgres::start();
  ASSERT_TRUE(server.has_value()) << server.error().message;
  use_database((*server)->url());
  ASSERT_TRUE(database_);
  constexpr long long kVerifications = 1500;
  constexpr long long kChunk = 100;

  start_audit();
  std::atomic<bool> published_all{false};
  std::thread publisher([&] {
    for (long long first = 0; first < kVerifications; first += kChunk) {
      publish(verifications(static_cast<std::size_t>(first), kChunk));
      std::this_thread::sleep_for(50ms);
    }
    published_all = true;
  });

  // Stop the server while otp-audit is writing: some events are in, more keep coming.
  bool writing = test::eventually(
      120s, [&] { return number("SELECT count(*) FROM otp_events") >= 800; }, 20ms);
  EXPECT_TRUE(writing);
  auto stopped = (*server)->stop_immediate();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().message;
  std::this_thread::sleep_for(3s);  // otp-audit retries against a dead server meanwhile
  EXPECT_TRUE(audit_->running());
  auto started = (*server)->start_server();
  ASSERT_TRUE(started.has_value()) << started.error().message;

  publisher.join();
  ASSERT_TRUE(published_all);
  EXPECT_TRUE(test::eventually(
      120s, [&] { return number("SELECT count(*) FROM otp_events") >= 4 * kVerifications; }));
  std::this_thread::sleep_for(1s);
  expect_exactly_once(kVerifications);
  EXPECT_TRUE(audit_->running());
}

}  // namespace
}  // namespace otp::audit
