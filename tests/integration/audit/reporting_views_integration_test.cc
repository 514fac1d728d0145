// The reporting views of schemas/sql/0003 and 0010_audit_views against a real PostgreSQL
// (OTP_TEST_PG_URL): a known set of events goes in through PgEventStore, and every view must return
// exactly the expected rows. Also: the recipient facts of verification.created in the projection,
// NULL when absent.

#include "common/pg/pg_connection.h"
#include "services/audit/pg_event_store.h"
#include "tests/integration/audit/test_database.h"
#include "tests/integration/audit/test_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace otp::audit {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using Rows = std::vector<std::vector<std::string>>;

constexpr std::int64_t kDayMs = 86'400'000;

json created(const std::string& channel, const std::string& country, const std::string& prefix,
             const std::string& hash) {
  return {
      {"channel", channel},     {"recipient_masked", prefix + "*****71"},
      {"code_length", 6},       {"max_attempts", 5},
      {"country", country},     {"number_prefix", prefix},
      {"recipient_hash", hash}, {"expires_at", format_rfc3339(from_unix_ms(kBaseMs + 600'000))}};
}

json sent(const std::string& provider, const std::string& channel, int latency_ms) {
  return {{"channel", channel},
          {"provider", provider},
          {"provider_message_id", "M" + std::to_string(latency_ms)},
          {"latency_ms", latency_ms},
          {"attempt", 1}};
}

/// Six verifications over two days and two tenants, plus a recipient lock:
///  v1 dev sms US +1415: sent by twilio (100 ms, 2 segments), approved
///  v2 dev sms US +1415: twilio attempt failed, then vonage sent (300 ms), never approved
///  v3 dev whatsapp GB +4477: sent by meta (200 ms), approved
///  v4 dev sms GB +4477: twilio sent (500 ms, 1.2 segments -> 2), max attempts reached
///  v5 acme sms, no country/prefix/hash, the next day: delivery expired
///  v6 dev sms US +1212: twilio sent (200 ms, segments "abc" -> 1), never approved
///  receipts (delivery.status, tenant unknown): v1 delivered, v6 undelivered (30003)
std::vector<messages::Event> known_events() {
  json v1_sent = sent("twilio", "sms", 100);
  v1_sent["segments"] = 2;
  json v4_sent = sent("twilio", "sms", 500);
  v4_sent["segments"] = 1.2;
  json v6_sent = sent("twilio", "sms", 200);
  v6_sent["segments"] = "abc";
  json v5_created = {{"channel", "sms"}, {"recipient_masked", "+3361*****12"}, {"max_attempts", 5}};
  return {
      make_event("v1-c", "verification.created", "v1", 0, created("sms", "US", "+1415", "h1")),
      make_event("v1-s", "delivery.sent", "v1", 1'000, v1_sent),
      make_event("v1-a", "verification.approved", "v1", 30'000),
      make_event("v2-c", "verification.created", "v2", 0, created("sms", "US", "+1415", "h2")),
      // A failed attempt that a failover saved: delivery.attempted, not the terminal
      // delivery.failed (services/delivery/README.md).
      make_event("v2-f", "delivery.attempted", "v2", 1'000,
                 {{"channel", "sms"}, {"provider", "twilio"}, {"error_code", "E"}, {"attempt", 1}}),
      make_event("v2-s", "delivery.sent", "v2", 2'000, sent("vonage", "sms", 300)),
      make_event("v3-c", "verification.created", "v3", 0, created("whatsapp", "GB", "+4477", "h3")),
      make_event("v3-s", "delivery.sent", "v3", 1'000, sent("meta", "whatsapp", 200)),
      make_event("v3-a", "verification.approved", "v3", 40'000),
      make_event("v4-c", "verification.created", "v4", 0, created("sms", "GB", "+4477", "h1")),
      make_event("v4-s", "delivery.sent", "v4", 1'000, v4_sent),
      make_event("v4-m", "verification.max_attempts_reached", "v4", 50'000),
      make_event("v5-c", "verification.created", "v5", kDayMs, v5_created, "acme"),
      make_event("v5-e", "delivery.expired", "v5", kDayMs + 5'000,
                 {{"channel", "sms"}, {"attempt", 1}}, "acme"),
      make_event("v6-c", "verification.created", "v6", 0, created("sms", "US", "+1212", "h6")),
      make_event("v6-s", "delivery.sent", "v6", 1'000, v6_sent),
      make_event("l-1", "recipient.locked", "v4", 60'000,
                 {{"country", "GB"}, {"number_prefix", "+4477"}, {"recipient_hash", "h1"}}),
      // Provider webhook receipts: no tenant, no verification, found by provider message id.
      make_event("r1", "delivery.status", "", 5'000,
                 {{"provider", "twilio"}, {"provider_message_id", "M100"}, {"status", "delivered"}},
                 ""),
      make_event("r6", "delivery.status", "", 6'000,
                 {{"provider", "twilio"},
                  {"provider_message_id", "M200"},
                  {"status", "undelivered"},
                  {"error_code", "30003"}},
                 ""),
  };
}

class ReportingViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::test_pg_url();
    ASSERT_FALSE(server.empty()) << test::kMissingPgUrl;
    auto database = test::TestDatabase::create(server, OTP_SCHEMA_SQL_DIR);
    ASSERT_TRUE(database.has_value())
        << "cannot create a test database on OTP_TEST_PG_URL: " << database.error().message;
    database_ = std::move(*database);
    connection_ = std::make_unique<pg::PgConnection>(config::Secret(database_->url()),
                                                     pg::PgOptions{.application_name = "otp-test"});
    PgEventStore store(*connection_);
    auto events = known_events();
    auto written = store.write(events);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    ASSERT_EQ(written->inserted, events.size());
    ASSERT_TRUE(connection_
                    ->exec("INSERT INTO sms_prices (country, price_per_segment)"
                           " VALUES ('US', 0.0075), ('*', 0.05)")
                    .has_value());
  }

  /// Every row of `sql` as text, NULL as "NULL".
  Rows rows(const std::string& sql) {
    auto result = connection_->exec(sql);
    EXPECT_TRUE(result.has_value()) << sql << ": " << result.error().message;
    Rows out;
    for (const auto& row : result.value_or(std::vector<pg::Row>{})) {
      std::vector<std::string> cells;
      for (const auto& cell : row) cells.push_back(cell.value_or("NULL"));
      out.push_back(std::move(cells));
    }
    return out;
  }

  std::unique_ptr<test::TestDatabase> database_;
  std::unique_ptr<pg::PgConnection> connection_;
};

using Row = std::vector<std::string>;

TEST_F(ReportingViewsTest, ProjectionKeepsTheRecipientFactsOrNullWhenAbsent) {
  EXPECT_THAT(rows("SELECT verification_id, coalesce(country, 'NULL'),"
                   " coalesce(number_prefix, 'NULL'), coalesce(recipient_hash, 'NULL')"
                   " FROM verifications WHERE verification_id IN ('v1', 'v5')"
                   " ORDER BY verification_id"),
              ElementsAre(Row{"v1", "US", "+1415", "h1"}, Row{"v5", "NULL", "NULL", "NULL"}));
}

TEST_F(ReportingViewsTest, DailyVolumeByTenantAndChannel) {
  EXPECT_THAT(rows("SELECT day::text, tenant, channel, verifications, delivered, approved, failed"
                   " FROM report_daily_volume ORDER BY day, tenant, channel"),
              ElementsAre(Row{"2027-01-15", "dev", "sms", "4", "4", "1", "0"},
                          Row{"2027-01-15", "dev", "whatsapp", "1", "1", "1", "0"},
                          Row{"2027-01-16", "acme", "sms", "1", "0", "0", "1"}));
}

TEST_F(ReportingViewsTest, DeliveryQualityByProviderChannelAndCountry) {
  EXPECT_THAT(
      rows("SELECT day::text, provider, channel, country, sent, failed, expired, success_rate,"
           " latency_p50_ms, latency_p95_ms, latency_p99_ms"
           " FROM report_delivery_quality ORDER BY day, provider NULLS LAST, country"),
      ElementsAre(
          Row{"2027-01-15", "meta", "whatsapp", "GB", "1", "0", "0", "1.0000", "200", "200", "200"},
          Row{"2027-01-15", "twilio", "sms", "GB", "1", "0", "0", "1.0000", "500", "500", "500"},
          Row{"2027-01-15", "twilio", "sms", "US", "2", "1", "0", "0.6667", "150", "195", "199"},
          Row{"2027-01-15", "vonage", "sms", "US", "1", "0", "0", "1.0000", "300", "300", "300"},
          Row{"2027-01-16", "NULL", "sms", "NULL", "0", "0", "1", "NULL", "NULL", "NULL", "NULL"}));
}

TEST_F(ReportingViewsTest, ConversionByCountryAndPrefix) {
  EXPECT_THAT(rows("SELECT day::text, tenant, country, number_prefix, verifications, sent,"
                   " verified, conversion_rate FROM report_conversion"
                   " ORDER BY day, tenant, country, number_prefix"),
              ElementsAre(Row{"2027-01-15", "dev", "GB", "+4477", "2", "2", "1", "0.5000"},
                          Row{"2027-01-15", "dev", "US", "+1212", "1", "1", "0", "0.0000"},
                          Row{"2027-01-15", "dev", "US", "+1415", "2", "2", "1", "0.5000"},
                          Row{"2027-01-16", "acme", "NULL", "NULL", "1", "0", "0", "NULL"}));
}

TEST_F(ReportingViewsTest, TopPrefixesByUnverifiedSends) {
  EXPECT_THAT(
      rows("SELECT country, number_prefix, sent, unverified_sends, unverified_ratio"
           " FROM report_unverified_sends"
           " ORDER BY unverified_sends DESC, unverified_ratio DESC, number_prefix"),
      ElementsAre(Row{"US", "+1212", "1", "1", "1.0000"}, Row{"US", "+1415", "2", "1", "0.5000"},
                  Row{"GB", "+4477", "2", "1", "0.5000"}));
}

TEST_F(ReportingViewsTest, LocksByKindAndPrefix) {
  EXPECT_THAT(rows("SELECT day::text, tenant, lock_type, country, number_prefix, locks"
                   " FROM report_locks ORDER BY lock_type"),
              ElementsAre(Row{"2027-01-15", "dev", "recipient.locked", "GB", "+4477", "1"},
                          Row{"2027-01-15", "dev", "verification.max_attempts_reached", "GB",
                              "+4477", "1"}));
}

TEST_F(ReportingViewsTest, SmsCostFromSegmentsAndPrices) {
  EXPECT_THAT(rows("SELECT day::text, tenant, country, messages, segments, price_per_segment,"
                   " estimated_cost FROM report_sms_cost ORDER BY country"),
              ElementsAre(Row{"2027-01-15", "dev", "GB", "1", "2", "0.050000", "0.100000"},
                          Row{"2027-01-15", "dev", "US", "3", "4", "0.007500", "0.030000"}));

  // Without a price for the country nor a default, the cost is unknown, not zero.
  ASSERT_TRUE(connection_->exec("DELETE FROM sms_prices WHERE country = '*'").has_value());
  EXPECT_THAT(rows("SELECT country, price_per_segment, estimated_cost FROM report_sms_cost"
                   " WHERE country = 'GB'"),
              ElementsAre(Row{"GB", "NULL", "NULL"}));
}

TEST_F(ReportingViewsTest, DeliveryErrorsByProviderStageAndCode) {
  EXPECT_THAT(rows("SELECT day::text, provider, channel, stage, error_code, failures"
                   " FROM report_delivery_errors ORDER BY stage"),
              ElementsAre(Row{"2027-01-15", "twilio", "sms", "attempt", "E", "1"},
                          Row{"2027-01-15", "twilio", "NULL", "receipt", "30003", "1"}));
}

TEST_F(ReportingViewsTest, DeliveryReceiptsByTenantAndProvider) {
  EXPECT_THAT(rows("SELECT day::text, tenant, provider, sent, delivered, undelivered,"
                   " without_receipt, delivered_rate FROM report_delivery_receipts"
                   " ORDER BY provider"),
              ElementsAre(Row{"2027-01-15", "dev", "meta", "1", "0", "0", "1", "NULL"},
                          Row{"2027-01-15", "dev", "twilio", "3", "1", "1", "1", "0.5000"},
                          Row{"2027-01-15", "dev", "vonage", "1", "0", "0", "1", "NULL"}));
}

TEST_F(ReportingViewsTest, ReplayLeavesEveryViewUnchanged) {
  const std::vector<std::string> views = {"report_daily_volume",    "report_delivery_quality",
                                          "report_conversion",      "report_unverified_sends",
                                          "report_locks",           "report_sms_cost",
                                          "report_delivery_errors", "report_delivery_receipts"};
  std::vector<Rows> before;
  auto all_rows = [](const std::string& view) {
    return "SELECT r::text FROM " + view + " r ORDER BY 1";
  };
  for (const auto& view : views) before.push_back(rows(all_rows(view)));

  PgEventStore store(*connection_);
  auto events = known_events();
  auto written = store.write(events);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(written->inserted, 0U);
  for (std::size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(rows(all_rows(views[i])), before[i]) << views[i];
  }
}

}  // namespace
}  // namespace otp::audit
