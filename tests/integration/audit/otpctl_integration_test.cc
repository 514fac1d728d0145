// otpctl's database commands (services/otpctl/pg_maintenance.h) against a real PostgreSQL
// (OTP_TEST_PG_URL): migrate on an empty database and again, retention by whole months, and
// erasure by recipient hash, each on a throw-away database.

#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/audit/pg_event_store.h"
#include "services/otpctl/pg_maintenance.h"
#include "tests/integration/audit/test_database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace otp::otpctl {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

class OtpctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = test::test_pg_url();
    ASSERT_FALSE(server_.empty()) << test::kMissingPgUrl;
  }

  /// A fresh database with every migration applied (TestDatabase's own applier).
  void create_migrated_database() {
    auto database = test::TestDatabase::create(server_, OTP_SCHEMA_SQL_DIR);
    ASSERT_TRUE(database.has_value()) << database.error().message;
    database_ = std::move(*database);
    connection_ = std::make_unique<pg::PgConnection>(config::Secret(database_->url()),
                                                     pg::PgOptions{.application_name = "otp-test"});
  }

  std::vector<std::string> column(const std::string& sql,
                                  const std::vector<pg::Param>& params = {}) {
    auto rows = connection_->exec(sql, params);
    EXPECT_TRUE(rows.has_value()) << sql << ": " << rows.error().message;
    std::vector<std::string> values;
    for (const auto& row : rows.value_or(std::vector<pg::Row>{})) {
      values.push_back(row.at(0).value_or("NULL"));
    }
    return values;
  }

  std::string server_;
  std::unique_ptr<test::TestDatabase> database_;
  std::unique_ptr<pg::PgConnection> connection_;
};

/// An empty database (no migrations) on the test server, dropped at the end of the test.
class EmptyDatabase {
 public:
  explicit EmptyDatabase(const std::string& server)
      : server_(server), admin_(config::Secret(server), {}) {
    OpenSslRng rng;
    name_ = "otpctl_test_" + random_hex(rng, 6);
    created_ = admin_.exec("CREATE DATABASE " + name_).has_value();
  }
  ~EmptyDatabase() {
    if (created_) (void)admin_.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  EmptyDatabase(const EmptyDatabase&) = delete;
  EmptyDatabase& operator=(const EmptyDatabase&) = delete;
  [[nodiscard]] bool created() const { return created_; }
  [[nodiscard]] std::string url() const { return test::with_database(server_, name_); }

 private:
  std::string server_;
  pg::PgConnection admin_;
  std::string name_;
  bool created_ = false;
};

TEST_F(OtpctlTest, MigrateAppliesEachFileOnceAndRecordsIt) {
  EmptyDatabase empty(server_);
  ASSERT_TRUE(empty.created());
  pg::PgConnection connection(config::Secret(empty.url()), {});

  auto first = migrate(connection, OTP_SCHEMA_SQL_DIR);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_GE(first->applied.size(), 3U);
  EXPECT_EQ(first->applied[0], "0001_init.sql");
  EXPECT_EQ(first->applied[1], "0002_partition_events.sql");
  EXPECT_EQ(first->applied[2], "0003_reporting_views.sql");
  EXPECT_EQ(first->already_applied, 0U);

  auto again = migrate(connection, OTP_SCHEMA_SQL_DIR);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(again->already_applied, first->applied.size());

  auto recorded = connection.exec("SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(recorded->at(0).at(0), std::to_string(first->applied.size()));
  // The audit writer finds what it needs.
  EXPECT_TRUE(audit::PgEventStore(connection).check_schema().has_value());
}

TEST_F(OtpctlTest, MigrateRefusesABadFileNameAndStopsAtAFailingFile) {
  EmptyDatabase empty(server_);
  ASSERT_TRUE(empty.created());
  pg::PgConnection connection(config::Secret(empty.url()), {});
  OpenSslRng rng;
  auto dir = std::filesystem::temp_directory_path() / ("otpctl-migrations-" + random_hex(rng, 6));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& sql) {
    std::ofstream(dir / name) << sql;
  };
  write("0001_ok.sql", "CREATE TABLE t1 (id int);");
  write("0002_bad.sql", "CREATE TABLE t2 (id int); SELECT no_such_function();");
  write("README.md", "not a migration");

  auto failed = migrate(connection, dir);
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, ::testing::HasSubstr("0002_bad.sql"));
  auto tables =
      connection.exec("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations");
  ASSERT_TRUE(tables.has_value());
  EXPECT_EQ(tables->at(0).at(0), "0001_ok.sql");
  EXPECT_EQ(connection.exec("SELECT to_regclass('t2') IS NULL")->at(0).at(0), "t");

  write("0003_bad name.sql", "SELECT 1;");
  auto refused = migrate(connection, dir);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::kInvalidInput);
  std::filesystem::remove_all(dir);
}

messages::Event event_at(const std::string& id, const std::string& type, const std::string& vid,
                         TimePoint at, json data = json::object(),
                         const std::string& tenant = "dev") {
  return messages::Event{.id = id,
                         .type = type,
                         .source = "otp-test",
                         .time = at,
                         .tenant = tenant,
                         .verification_id = vid,
                         .data = std::move(data)};
}

TEST_F(OtpctlTest, RetentionDropsWholeOldMonthsAndPrunesTheirIds) {
  create_migrated_database();
  audit::PgEventStore store(*connection_);
  auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto days = [&](int n) { return now - std::chrono::days(n); };
  std::vector<messages::Event> events{
      event_at("old", "verification.created", "v-old", days(100), {{"channel", "sms"}}),
      event_at("recent", "verification.created", "v-recent", days(40), {{"channel", "sms"}}),
      event_at("today", "verification.created", "v-today", days(0), {{"channel", "sms"}})};
  auto written = store.write(events);
  ASSERT_TRUE(written.has_value()) << written.error().message;

  auto done = enforce_retention(*connection_, std::chrono::days(60));
  ASSERT_TRUE(done.has_value()) << done.error().message;
  // The month of "old" ended at least 69 days ago; the month of "recent" is younger than 60.
  EXPECT_FALSE(done->dropped.empty());
  EXPECT_THAT(column("SELECT id FROM otp_events ORDER BY id"), ElementsAre("recent", "today"));
  EXPECT_THAT(column("SELECT id FROM otp_event_ids ORDER BY id"), ElementsAre("recent", "today"));
  // The projection is kept, and the months ahead exist.
  EXPECT_THAT(column("SELECT count(*) FROM verifications"), ElementsAre("3"));
  EXPECT_THAT(column("SELECT to_regclass(otp_event_partition_name(now() + interval '2 months'))"
                     " IS NOT NULL"),
              ElementsAre("t"));

  auto again = enforce_retention(*connection_, std::chrono::days(60));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(again->dropped.empty());
  EXPECT_EQ(again->created, 0U);
  // Writing after retention still works, for new and for old months alike.
  // (A month dropped before is created again for a late event.)
  std::vector<messages::Event> later{
      event_at("later", "verification.approved", "v-today", days(0)),
      event_at("older", "verification.check_failed", "v-old", days(100))};
  auto rewritten = store.write(later);
  ASSERT_TRUE(rewritten.has_value()) << rewritten.error().message;
  EXPECT_EQ(rewritten->inserted, 2U);
}

TEST_F(OtpctlTest, EraseRemovesTheRecipientButKeepsTheCounts) {
  create_migrated_database();
  audit::PgEventStore store(*connection_);
  auto at = from_unix_ms(1'800'000'000'000);
  json created = {{"channel", "sms"},       {"recipient_masked", "+1415*****71"},
                  {"country", "US"},        {"number_prefix", "+1415"},
                  {"recipient_hash", "h1"}, {"max_attempts", 5}};
  json other = created;
  other["recipient_hash"] = "h2";
  std::vector<messages::Event> events{
      event_at("e1", "verification.created", "v1", at, created),
      event_at("e2", "verification.approved", "v1", at + 5s),
      event_at("e3", "verification.created", "v2", at, created),
      event_at("e4", "recipient.locked", "v9", at + 9s, {{"recipient_hash", "h1"}}),
      event_at("e5", "verification.created", "v3", at, other),
      event_at("e6", "verification.created", "v4", at, created, "acme"),
  };
  auto written = store.write(events);
  ASSERT_TRUE(written.has_value()) << written.error().message;

  auto done = erase_recipient(*connection_, "dev", "h1");
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(done->verifications, 2U);
  EXPECT_EQ(done->events, 3U);  // e1, e3 (masked + hash), e4 (hash); e2 has neither

  EXPECT_THAT(column("SELECT verification_id || ':' || recipient_masked || ':' ||"
                     " coalesce(recipient_hash, 'NULL') || ':' || status || ':' || number_prefix"
                     " FROM verifications WHERE verification_id <> 'v9'"
                     " ORDER BY tenant, verification_id"),
              ElementsAre("v4:+1415*****71:h1:pending:+1415", "v1:[erased]:NULL:approved:+1415",
                          "v2:[erased]:NULL:pending:+1415", "v3:+1415*****71:h2:pending:+1415"));
  EXPECT_THAT(column("SELECT id FROM otp_events WHERE tenant = 'dev' AND"
                     " (data ? 'recipient_hash' OR data->>'recipient_masked' <> '[erased]')"
                     " ORDER BY id"),
              ElementsAre("e5"));
  EXPECT_THAT(column("SELECT count(*) FROM otp_events"), ElementsAre("6"));

  auto again = erase_recipient(*connection_, "dev", "h1");
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->verifications, 0U);
  EXPECT_EQ(again->events, 0U);

  EXPECT_EQ(erase_recipient(*connection_, "no tenant", "h1").error().code, Errc::kInvalidInput);
  EXPECT_EQ(erase_recipient(*connection_, "dev", "").error().code, Errc::kInvalidInput);
}

}  // namespace
}  // namespace otp::otpctl
