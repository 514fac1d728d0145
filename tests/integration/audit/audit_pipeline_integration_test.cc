// otp-audit's pipeline end to end-ish: real Kafka (OTP_TEST_KAFKA_BROKERS) and PostgreSQL
// (OTP_TEST_PG_URL), the real BatchRunner with AuditStage and PgEventStore, unique topics.

#include "common/kafka/admin.h"
#include "common/kafka/batch_runner.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/audit/audit_stage.h"
#include "services/audit/pg_event_store.h"
#include "tests/integration/audit/test_database.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace otp::audit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kMissingBrokers[] =
    "OTP_TEST_KAFKA_BROKERS is not set: start a stack (scripts/stack up --infra-only) and export "
    "OTP_TEST_KAFKA_BROKERS=127.0.0.1:<base+92>";

/// Polls `done` every 100 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

class AuditPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* brokers = std::getenv("OTP_TEST_KAFKA_BROKERS");
    ASSERT_NE(brokers, nullptr) << kMissingBrokers;
    auto server = test::test_pg_url();
    ASSERT_FALSE(server.empty()) << test::kMissingPgUrl;

    OpenSslRng rng;
    run_id_ = random_hex(rng, 6);
    settings_ = kafka::KafkaSettings{
        .brokers = brokers, .client_id = "otp-audit-test-" + run_id_, .properties = {}};
    topics_ = messages::Topics::with_prefix("audit-it-" + run_id_ + ".");
    auto ensured = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(ensured.has_value()) << ensured.error().message;
    auto producer = kafka::KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);

    auto database = test::TestDatabase::create(server, OTP_SCHEMA_SQL_DIR);
    ASSERT_TRUE(database.has_value()) << database.error().message;
    database_ = std::move(*database);
    reader_ = std::make_unique<pg::PgConnection>(config::Secret(database_->url()),
                                                 pg::PgOptions{.application_name = "otp-test"});
  }

  void TearDown() override {
    producer_.reset();
    reader_.reset();
    database_.reset();
  }

  void publish(const std::vector<messages::Event>& events, bool with_poison = false) {
    std::vector<kafka::OutboundRecord> records;
    if (with_poison) {
      records.push_back({.topic = topics_.events,
                         .key = "poison",
                         .value = R"({"schema_version":1,"id":"poison"})",
                         .headers = {},
                         .partition = std::nullopt});
    }
    for (const auto& event : events) {
      records.push_back({.topic = topics_.events,
                         .key = event.verification_id,
                         .value = messages::encode(event),
                         .headers = {},
                         .partition = std::nullopt});
    }
    auto sent = kafka::publish_and_wait(*producer_, records, 30s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  /// Runs the audit pipeline as otp-audit's main does, under consumer group `group`, until
  /// `until` holds (or 60 s pass); then stops it gracefully. Returns whether `until` held.
  bool run_audit(const std::string& group, const std::function<bool()>& until) {
    pg::PgConnection connection(config::Secret(database_->url()),
                                {.application_name = "otp-audit-test"});
    PgEventStore store(connection);
    AuditStage stage(store);
    auto consumer = kafka::Consumer::create(settings_, group);
    EXPECT_TRUE(consumer.has_value()) << consumer.error().message;
    if (!consumer) return false;
    EXPECT_TRUE((*consumer)->subscribe({topics_.events}).has_value());
    kafka::BatchRunner runner(stage, *producer_,
                              {.stage_name = "audit",
                               .dlq_topic = topics_.dlq,
                               .batch_size = 1000,
                               .batch_age = std::chrono::milliseconds(100)});
    std::atomic<bool> stop{false};
    Result<void> ran;
    std::thread worker([&] { ran = runner.run(**consumer, stop); });
    bool reached = eventually(until, 60s);
    stop = true;
    worker.join();
    EXPECT_TRUE(ran.has_value()) << ran.error().message;
    return reached;
  }

  std::size_t count(const std::string& sql) {
    auto rows = reader_->exec(sql);
    if (!rows || rows->size() != 1 || !(*rows)[0][0]) return static_cast<std::size_t>(-1);
    return std::stoul(*(*rows)[0][0]);
  }

  std::vector<pg::Row> snapshot() {
    auto events =
        reader_->exec("SELECT id, data::text, ingested_at::text FROM otp_events ORDER BY id");
    auto projection =
        reader_->exec("SELECT v::text FROM verifications v ORDER BY tenant, verification_id");
    EXPECT_TRUE(events.has_value() && projection.has_value());
    std::vector<pg::Row> rows = events.value_or(std::vector<pg::Row>{});
    auto more = projection.value_or(std::vector<pg::Row>{});
    rows.insert(rows.end(), more.begin(), more.end());
    return rows;
  }

  std::vector<messages::Event> verification_events(const std::string& tag) {
    OpenSslRng rng;
    auto vid = new_verification_id(rng);
    auto at = [](int seconds) { return from_unix_ms(1'800'000'000'000 + seconds * 1000LL); };
    auto event = [&](const std::string& type, int seconds, json data) {
      return messages::Event{.id = run_id_ + "-" + tag + "-" + type,
                             .type = type,
                             .source = "otp-test",
                             .time = at(seconds),
                             .tenant = "dev",
                             .verification_id = vid,
                             .data = std::move(data)};
    };
    return {event("verification.approved", 30, json::object()),  // before its creation
            event("verification.created", 0,
                  {{"channel", "email"},
                   {"recipient_masked", "a******8@gmail.com"},
                   {"code_length", 6},
                   {"expires_at", format_rfc3339(at(600))},
                   {"max_attempts", 5}}),
            event("delivery.sent", 1,
                  {{"provider", "outbox"},
                   {"provider_message_id", "m1"},
                   {"latency_ms", 12},
                   {"attempt", 1}}),
            event("verification.check_failed", 20, {{"attempts_remaining", 4}})};
  }

  std::string run_id_;
  kafka::KafkaSettings settings_;
  messages::Topics topics_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<test::TestDatabase> database_;
  std::unique_ptr<pg::PgConnection> reader_;
};

TEST_F(AuditPipelineTest, WritesEventsOnceAndAReplayChangesNothing) {
  std::vector<messages::Event> events;
  for (int i = 0; i < 5; ++i) {
    auto more = verification_events("v" + std::to_string(i));
    events.insert(events.end(), more.begin(), more.end());
  }
  publish(events, /*with_poison=*/true);

  ASSERT_TRUE(run_audit("audit-it-" + run_id_ + "-first", [&] {
    return count("SELECT count(*) FROM otp_events") == events.size();
  })) << "events did not reach otp_events";
  EXPECT_EQ(count("SELECT count(*) FROM verifications"), 5U);
  EXPECT_EQ(count("SELECT count(*) FROM verifications WHERE status = 'approved' AND attempts = 1"
                  " AND channel = 'email' AND delivery_status = 'sent'"),
            5U);
  EXPECT_EQ(count("SELECT count(*) FROM otp_events WHERE id = 'poison'"), 0U);
  auto before = snapshot();

  // The same records again, read by a new group from the start of the topic. A sentinel
  // published last tells when the replay has been read through.
  publish(events);
  auto sentinel = verification_events("sentinel");
  sentinel.resize(1);
  publish(sentinel);
  ASSERT_TRUE(run_audit("audit-it-" + run_id_ + "-second", [&] {
    return count("SELECT count(*) FROM otp_events WHERE id = '" + sentinel[0].id + "'") == 1;
  })) << "the sentinel did not reach otp_events";

  auto after = reader_->exec(
      "SELECT id, data::text, ingested_at::text FROM otp_events WHERE id <> $1 ORDER BY id",
      {sentinel[0].id});
  auto projection = reader_->exec(
      "SELECT v::text FROM verifications v WHERE verification_id <> $1"
      " ORDER BY tenant, verification_id",
      {sentinel[0].verification_id});
  ASSERT_TRUE(after.has_value() && projection.has_value());
  after->insert(after->end(), projection->begin(), projection->end());
  EXPECT_EQ(*after, before);

  // The poison record was parked in the dead-letter topic with the reason.
  auto dlq = kafka::Consumer::create(settings_, "audit-it-" + run_id_ + "-dlq");
  ASSERT_TRUE(dlq.has_value());
  ASSERT_TRUE((*dlq)->subscribe({topics_.dlq}).has_value());
  std::optional<kafka::Record> parked;
  eventually(
      [&] {
        auto polled = (*dlq)->poll(100ms);
        if (polled && *polled) parked = **polled;
        return parked.has_value();
      },
      30s);
  (*dlq)->close();
  ASSERT_TRUE(parked.has_value()) << "nothing in " << topics_.dlq;
  EXPECT_EQ(parked->key, "poison");
  EXPECT_TRUE(parked->header(messages::kHeaderDlqReason).has_value());
}

}  // namespace
}  // namespace otp::audit
