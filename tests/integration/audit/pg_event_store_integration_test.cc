// PgEventStore against a real PostgreSQL (OTP_TEST_PG_URL), on a fresh database per test with
// schemas/sql applied: batches, replays, out-of-order events, a killed connection, no codes.

#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/audit/pg_event_store.h"
#include "services/intake/webhooks/status_event.h"
#include "tests/integration/audit/test_database.h"
#include "tests/integration/audit/test_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace otp::audit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json created_data() {
  return {{"channel", "sms"},
          {"recipient_masked", "+1415*****71"},
          {"code_length", 6},
          {"expires_at", format_rfc3339(from_unix_ms(kBaseMs + 600'000))},
          {"max_attempts", 5}};
}

json sent_data(const std::string& provider = "twilio") {
  return {{"provider", provider},
          {"provider_message_id", "SM123"},
          {"latency_ms", 840},
          {"attempt", 1}};
}

/// The whole life of one verification: created, one wrong code, delivered, approved.
std::vector<messages::Event> lifecycle(const std::string& vid, const std::string& prefix) {
  return {make_event(prefix + "-created", "verification.created", vid, 0, created_data()),
          make_event(prefix + "-sent", "delivery.sent", vid, 900, sent_data()),
          make_event(prefix + "-failed-check", "verification.check_failed", vid, 20'000,
                     {{"attempts_remaining", 4}}),
          make_event(prefix + "-approved", "verification.approved", vid, 30'000)};
}

class PgEventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = test::test_pg_url();
    ASSERT_FALSE(server.empty()) << test::kMissingPgUrl;
    auto database = test::TestDatabase::create(server, OTP_SCHEMA_SQL_DIR);
    ASSERT_TRUE(database.has_value())
        << "cannot create a test database on OTP_TEST_PG_URL: " << database.error().message;
    database_ = std::move(*database);
    OpenSslRng rng;
    application_name_ = "otp-audit-test-" + random_hex(rng, 4);
    connection_ = std::make_unique<pg::PgConnection>(
        config::Secret(database_->url()), pg::PgOptions{.application_name = application_name_});
    store_ = std::make_unique<PgEventStore>(*connection_);
    reader_ = std::make_unique<pg::PgConnection>(config::Secret(database_->url()),
                                                 pg::PgOptions{.application_name = "otp-test"});
  }

  void TearDown() override {
    store_.reset();
    connection_.reset();
    reader_.reset();
    database_.reset();
  }

  std::string new_vid() {
    OpenSslRng rng;
    return new_verification_id(rng);
  }

  WriteSummary write(const std::vector<messages::Event>& events) {
    auto written = store_->write(events);
    EXPECT_TRUE(written.has_value()) << written.error().message;
    return written.value_or(WriteSummary{});
  }

  std::vector<pg::Row> query(const std::string& sql, const std::vector<pg::Param>& params = {}) {
    auto rows = reader_->exec(sql, params);
    EXPECT_TRUE(rows.has_value()) << sql << ": " << rows.error().message;
    return rows.value_or(std::vector<pg::Row>{});
  }

  std::size_t count(const std::string& sql, const std::vector<pg::Param>& params = {}) {
    auto rows = query(sql, params);
    if (rows.size() != 1 || !rows[0][0]) return static_cast<std::size_t>(-1);
    return std::stoul(*rows[0][0]);
  }

  /// The projection row as JSON (timestamps as epoch milliseconds), or null when there is none.
  json verification(const std::string& vid, const std::string& tenant = "dev") {
    auto rows = query(
        "SELECT json_build_object("
        " 'channel', channel, 'recipient_masked', recipient_masked,"
        " 'max_attempts', max_attempts,"
        " 'created_at', (extract(epoch FROM created_at) * 1000)::bigint,"
        " 'expires_at', (extract(epoch FROM expires_at) * 1000)::bigint,"
        " 'lifecycle_status', lifecycle_status, 'status', status,"
        " 'approved_at', (extract(epoch FROM approved_at) * 1000)::bigint,"
        " 'attempts', attempts,"
        " 'last_event_at', (extract(epoch FROM last_event_at) * 1000)::bigint,"
        " 'delivery_status', delivery_status, 'delivery_provider', delivery_provider,"
        " 'delivery_event_at', (extract(epoch FROM delivery_event_at) * 1000)::bigint,"
        " 'delivery_sent_at', (extract(epoch FROM delivery_sent_at) * 1000)::bigint,"
        " 'delivery_latency_ms', delivery_latency_ms)::text"
        " FROM verifications WHERE tenant = $1 AND verification_id = $2",
        {tenant, vid});
    if (rows.empty() || !rows[0][0]) return nullptr;
    return json::parse(*rows[0][0]);
  }

  /// Every stored row of both tables, as text, for before/after comparisons.
  std::vector<pg::Row> snapshot() {
    auto events = query(
        "SELECT id, type, source, occurred_at::text, tenant, verification_id, data::text,"
        " ingested_at::text FROM otp_events ORDER BY id");
    auto projection = query("SELECT v::text FROM verifications v ORDER BY tenant, verification_id");
    events.insert(events.end(), projection.begin(), projection.end());
    return events;
  }

  std::unique_ptr<test::TestDatabase> database_;
  std::string application_name_;
  std::unique_ptr<pg::PgConnection> connection_;
  std::unique_ptr<PgEventStore> store_;
  std::unique_ptr<pg::PgConnection> reader_;
};

TEST_F(PgEventStoreTest, StoresABatchAndProjectsEachVerification) {
  auto approved_vid = new_vid();
  auto pending_vid = new_vid();
  auto events = lifecycle(approved_vid, "a");
  events.push_back(make_event("b-created", "verification.created", pending_vid, 5, created_data()));

  auto summary = write(events);
  EXPECT_EQ(summary.inserted, 5U);
  EXPECT_EQ(summary.verifications, 2U);
  EXPECT_EQ(count("SELECT count(*) FROM otp_events"), 5U);

  auto stored = query(
      "SELECT type, source, tenant, verification_id, data->>'channel',"
      " (extract(epoch FROM occurred_at) * 1000)::bigint::text"
      " FROM otp_events WHERE id = 'a-created'");
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0][0], "verification.created");
  EXPECT_EQ(stored[0][1], "otp-test");
  EXPECT_EQ(stored[0][2], "dev");
  EXPECT_EQ(stored[0][3], approved_vid);
  EXPECT_EQ(stored[0][4], "sms");
  EXPECT_EQ(stored[0][5], std::to_string(kBaseMs));

  auto approved = verification(approved_vid);
  ASSERT_FALSE(approved.is_null());
  EXPECT_EQ(approved["status"], "approved");
  EXPECT_EQ(approved["channel"], "sms");
  EXPECT_EQ(approved["recipient_masked"], "+1415*****71");
  EXPECT_EQ(approved["max_attempts"], 5);
  EXPECT_EQ(approved["created_at"], kBaseMs);
  EXPECT_EQ(approved["expires_at"], kBaseMs + 600'000);
  EXPECT_EQ(approved["approved_at"], kBaseMs + 30'000);
  EXPECT_EQ(approved["attempts"], 1);
  EXPECT_EQ(approved["last_event_at"], kBaseMs + 30'000);
  EXPECT_EQ(approved["delivery_status"], "sent");
  EXPECT_EQ(approved["delivery_provider"], "twilio");
  EXPECT_EQ(approved["delivery_sent_at"], kBaseMs + 900);
  EXPECT_EQ(approved["delivery_latency_ms"], 840);

  auto pending = verification(pending_vid);
  ASSERT_FALSE(pending.is_null());
  EXPECT_EQ(pending["status"], "pending");
  EXPECT_EQ(pending["attempts"], 0);
  EXPECT_TRUE(pending["delivery_status"].is_null());
}

// The table's contract for operators' tools (replication, CDC, ETL): a primary key naming the
// event (with the month column partitioning requires), on the parent and every partition.
TEST_F(PgEventStoreTest, EventsTableHasItsPrimaryKeyOnEveryPartition) {
  auto key = query(
      "SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_constraint c "
      "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
      "WHERE c.conrelid = 'otp_events'::regclass AND c.contype = 'p'");
  ASSERT_EQ(key.size(), 1U);
  ASSERT_TRUE(key[0][0].has_value()) << "otp_events has no primary key";
  EXPECT_EQ(*key[0][0], "id,occurred_at");
  auto unkeyed = query(
      "SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'otp_events'::regclass "
      "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = i.inhrelid "
      "AND c.contype = 'p')");
  EXPECT_EQ(unkeyed.at(0).at(0), "0");
}

TEST_F(PgEventStoreTest, ReplayingABatchChangesNothing) {
  auto vid = new_vid();
  auto events = lifecycle(vid, "r");
  write(events);
  auto before = snapshot();
  ASSERT_EQ(before.size(), 5U);  // 4 events + 1 projection row

  auto again = write(events);
  EXPECT_EQ(again.inserted, 0U);
  EXPECT_EQ(again.verifications, 0U);
  EXPECT_EQ(snapshot(), before);  // not even updated_at moved

  // A batch overlapping the stored one only adds what is new.
  auto extra = events;
  extra.push_back(make_event("r-check-2", "verification.check_failed", vid, 25'000));
  auto overlap = write(extra);
  EXPECT_EQ(overlap.inserted, 1U);
  EXPECT_EQ(verification(vid)["attempts"], 2);
  EXPECT_EQ(count("SELECT count(*) FROM otp_events"), 5U);
}

TEST_F(PgEventStoreTest, StoresAnIdOnceEvenWhenABatchRepeatsIt) {
  auto vid = new_vid();
  auto check = make_event("d-check", "verification.check_failed", vid, 10);
  auto summary = write({check, check, check});
  EXPECT_EQ(summary.inserted, 1U);
  EXPECT_EQ(count("SELECT count(*) FROM otp_events"), 1U);
  EXPECT_EQ(verification(vid)["attempts"], 1);
}

TEST_F(PgEventStoreTest, ApprovalReadBeforeCreationStillEndsApproved) {
  auto vid = new_vid();
  auto events = lifecycle(vid, "o");
  write({events[3]});  // approved
  auto early = verification(vid);
  EXPECT_EQ(early["status"], "approved");
  EXPECT_TRUE(early["created_at"].is_null());
  EXPECT_TRUE(early["channel"].is_null());

  write({events[0]});  // created, later
  write({events[2], events[1]});
  auto row = verification(vid);
  EXPECT_EQ(row["status"], "approved");
  EXPECT_EQ(row["created_at"], kBaseMs);
  EXPECT_EQ(row["channel"], "sms");
  EXPECT_EQ(row["approved_at"], kBaseMs + 30'000);
  EXPECT_EQ(row["attempts"], 1);
  EXPECT_EQ(row["last_event_at"], kBaseMs + 30'000);
  EXPECT_EQ(row["delivery_status"], "sent");
}

TEST_F(PgEventStoreTest, EveryArrivalOrderGivesTheSameProjection) {
  // Four events that compete for every merged column: two creations (the earlier one's channel
  // wins), a failed then a successful delivery (sent wins), an expiry and an approval
  // (approved wins). Each permutation goes to its own verification, one event per batch.
  auto events_for = [](const std::string& vid, const std::string& prefix) {
    json late_created = created_data();
    late_created["channel"] = "whatsapp";
    late_created["expires_at"] = format_rfc3339(from_unix_ms(kBaseMs + 900'000));
    return std::vector<messages::Event>{
        make_event(prefix + "-0", "verification.created", vid, 0, created_data()),
        make_event(prefix + "-1", "verification.created", vid, 60'000, late_created),
        make_event(prefix + "-2", "delivery.failed", vid, 1'000,
                   {{"provider", "vonage"}, {"error_code", "E1"}, {"reason", "x"}, {"attempt", 1}}),
        make_event(prefix + "-3", "delivery.sent", vid, 2'000, sent_data("twilio")),
        make_event(prefix + "-4", "verification.expired", vid, 700'000),
        make_event(prefix + "-5", "verification.approved", vid, 90'000),
    };
  };
  std::array<int, 6> order{0, 1, 2, 3, 4, 5};
  std::optional<json> expected;
  int permutation = 0;
  do {
    // 720 permutations is slow-ish one event per batch; every 7th covers the orders well.
    if (permutation++ % 7 != 0) continue;
    auto vid = new_vid();
    auto events = events_for(vid, "p" + std::to_string(permutation));
    for (int index : order) write({events[static_cast<std::size_t>(index)]});
    auto row = verification(vid);
    if (!expected) {
      expected = row;
      EXPECT_EQ(row["status"], "approved");
      EXPECT_EQ(row["channel"], "sms");
      EXPECT_EQ(row["created_at"], kBaseMs);
      EXPECT_EQ(row["expires_at"], kBaseMs + 900'000);
      EXPECT_EQ(row["delivery_status"], "sent");
      EXPECT_EQ(row["delivery_provider"], "twilio");
      EXPECT_EQ(row["last_event_at"], kBaseMs + 700'000);
    }
    ASSERT_EQ(row, *expected) << "permutation " << permutation;
  } while (std::next_permutation(order.begin(), order.end()));

  // And all of them in one batch, reversed.
  auto vid = new_vid();
  auto events = events_for(vid, "batch");
  std::reverse(events.begin(), events.end());
  write(events);
  EXPECT_EQ(verification(vid), *expected);
}

TEST_F(PgEventStoreTest, FinalDeliveryFailureMarksAPendingVerificationFailed) {
  auto vid = new_vid();
  write({make_event("f-created", "verification.created", vid, 0, created_data()),
         make_event("f-failed", "delivery.failed", vid, 2'000,
                    {{"provider", "twilio"},
                     {"error_code", "21211"},
                     {"reason", "invalid"},
                     {"attempt", 3}})});
  auto row = verification(vid);
  EXPECT_EQ(row["lifecycle_status"], "pending");
  EXPECT_EQ(row["status"], "failed");
  EXPECT_EQ(row["delivery_status"], "failed");
  EXPECT_EQ(row["delivery_provider"], "twilio");
  EXPECT_TRUE(row["delivery_sent_at"].is_null());
}

TEST_F(PgEventStoreTest, ReconnectsAfterTheServerKilledItsConnection) {
  auto first_vid = new_vid();
  write(lifecycle(first_vid, "k1"));
  ASSERT_EQ(count("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                  {application_name_}),
            1U);

  auto killed =
      query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            {application_name_});
  ASSERT_EQ(killed.size(), 1U);
  EXPECT_EQ(killed[0][0], "t");
  for (int i = 0; i < 100 && count("SELECT count(*) FROM pg_stat_activity WHERE "
                                   "application_name = $1",
                                   {application_name_}) != 0;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }

  auto second_vid = new_vid();
  auto written = store_->write(lifecycle(second_vid, "k2"));
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(written->inserted, 4U);
  EXPECT_EQ(verification(second_vid)["status"], "approved");
  EXPECT_EQ(count("SELECT count(*) FROM otp_events"), 8U);
}

TEST_F(PgEventStoreTest, NoStoredRowHoldsACode) {
  auto vid = new_vid();
  auto events = lifecycle(vid, "c");
  events.push_back(make_event("c-expired", "delivery.expired", vid, 40'000));
  events.push_back(make_event(
      "c-failed", "delivery.failed", vid, 41'000,
      {{"provider", "vonage"}, {"error_code", "2"}, {"reason", "throttled"}, {"attempt", 2}}));
  write(events);

  const std::set<std::string> code_keys = {"code", "otp", "otp_code", "otp_code_sealed",
                                           "sealed_code"};
  std::function<void(const json&)> check = [&](const json& value) {
    if (value.is_object()) {
      for (const auto& [key, item] : value.items()) {
        EXPECT_EQ(code_keys.count(key), 0U) << "stored key " << key;
        check(item);
      }
    } else if (value.is_array()) {
      for (const auto& item : value) check(item);
    }
  };
  for (const auto& row : query("SELECT data::text FROM otp_events")) check(json::parse(*row[0]));
  // No column of the audit tables is meant for a code either.
  EXPECT_EQ(count("SELECT count(*) FROM information_schema.columns"
                  " WHERE table_name IN ('otp_events', 'verifications')"
                  " AND column_name IN ('code', 'otp', 'otp_code', 'otp_code_sealed',"
                  " 'sealed_code', 'code_hmac')"),
            0U);

  // The schema refuses one even from a writer that skipped otp-audit's decoder; the constraint
  // violation maps to kInvalidInput.
  auto direct = reader_->transact([&](pg::Transaction& tx) -> Result<void> {
    return tx
        .exec(
            "INSERT INTO otp_events (id, type, source, occurred_at, tenant, verification_id,"
            " data) VALUES ('c-code', 't', 's', now(), 'dev', $1, '{\"code\": \"123456\"}')",
            {vid})
        .map([](auto&&) {});
  });
  ASSERT_FALSE(direct.has_value());
  EXPECT_EQ(direct.error().code, Errc::kInvalidInput);
  EXPECT_THAT(direct.error().message, ::testing::HasSubstr("otp_events_no_codes"));
}

TEST_F(PgEventStoreTest, ChecksTheSchemaAtStartUp) {
  EXPECT_TRUE(store_->check_schema().has_value());

  // The server's default database has no audit tables: a permanent error, not a retry.
  pg::PgConnection bare(config::Secret(test::with_database(test::test_pg_url(), "postgres")), {});
  PgEventStore unmigrated(bare);
  auto checked = unmigrated.check_schema();
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().code, Errc::kPermanent) << checked.error().message;
}

TEST_F(PgEventStoreTest, AResendWithPolicyNewRestartsTheExpiry) {
  auto vid = new_vid();
  auto later = format_rfc3339(from_unix_ms(kBaseMs + 900'000));
  // The resend arrives first: order must not matter, and `same` never moves the expiry.
  write({make_event("r-new", "verification.resent", vid, 300'000,
                    {{"job_id", vid + ":1"}, {"policy", "new"}, {"expires_at", later}}),
         make_event("r-same", "verification.resent", vid, 400'000,
                    {{"job_id", vid + ":2"},
                     {"policy", "same"},
                     {"expires_at", format_rfc3339(from_unix_ms(kBaseMs + 999'000))}})});
  write({make_event("r-created", "verification.created", vid, 0, created_data())});
  auto row = verification(vid);
  ASSERT_TRUE(row.is_object());
  EXPECT_EQ(row["expires_at"], kBaseMs + 900'000);
  EXPECT_EQ(count("SELECT resends FROM verifications WHERE verification_id = $1", {vid}), 2U);
}

TEST_F(PgEventStoreTest, ADeliveryReceiptFindsItsVerificationByProviderMessageId) {
  auto vid = new_vid();
  auto other_vid = new_vid();
  json sent = sent_data();
  sent["segments"] = 2;
  // The sent event and a receipt without tenant or verification in one batch; a later
  // intermediate receipt does not override the final one; another tenant's receipt with the
  // same message id does not touch this verification.
  write({make_event("d-created", "verification.created", vid, 0, created_data()),
         make_event("d-sent", "delivery.sent", vid, 900, sent),
         make_event("d-receipt", "delivery.status", "", 5'000,
                    {{"provider", "twilio"},
                     {"provider_message_id", "SM123"},
                     {"status", "undelivered"},
                     {"error_code", "30003"}},
                    "")});
  write({make_event("d-receipt-late", "delivery.status", "", 9'000,
                    {{"provider", "twilio"}, {"provider_message_id", "SM123"}, {"status", "sent"}},
                    ""),
         make_event(
             "d-other", "delivery.status", other_vid, 9'500,
             {{"provider", "twilio"}, {"provider_message_id", "SM123"}, {"status", "delivered"}},
             "other-tenant")});
  auto rows = query(
      "SELECT delivery_receipt, delivery_receipt_error_code, delivery_segments,"
      " delivery_provider_message_id FROM verifications WHERE tenant = 'dev'"
      " AND verification_id = $1",
      {vid});
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0], "undelivered");
  EXPECT_EQ(rows[0][1], "30003");
  EXPECT_EQ(rows[0][2], "2");
  EXPECT_EQ(rows[0][3], "SM123");
  // The stored receipts carry the tenant and verification they were matched to.
  EXPECT_EQ(count("SELECT count(*) FROM otp_events WHERE type = 'delivery.status'"
                  " AND tenant = 'dev' AND verification_id = $1",
                  {vid}),
            2U);
  EXPECT_EQ(count("SELECT count(*) FROM verifications WHERE tenant = 'other-tenant'"), 1U);
}

TEST_F(PgEventStoreTest, AReceiptReadBeforeItsSendIsMatchedWhenTheSendArrives) {
  auto vid = new_vid();
  auto receipt = make_event(
      "late-receipt", "delivery.status", "", 5'000,
      {{"provider", "twilio"}, {"provider_message_id", "SM123"}, {"status", "delivered"}}, "");
  write({receipt});
  EXPECT_EQ(count("SELECT count(*) FROM verifications"), 0U);
  std::vector<messages::Event> rest = {
      make_event("late-created", "verification.created", vid, 0, created_data()),
      make_event("late-sent", "delivery.sent", vid, 900, sent_data())};
  write(rest);
  auto rows = query(
      "SELECT delivery_receipt, (extract(epoch FROM delivery_receipt_at) * 1000)::bigint"
      " FROM verifications WHERE tenant = 'dev' AND verification_id = $1",
      {vid});
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0], "delivered");
  EXPECT_EQ(rows[0][1], std::to_string(kBaseMs + 5'000));
  EXPECT_EQ(count("SELECT count(*) FROM otp_events WHERE id = 'late-receipt' AND tenant = 'dev'"
                  " AND verification_id = $1",
                  {vid}),
            1U);
  // The same end state as the other arrival order, and a replay of everything changes nothing.
  auto before = snapshot();
  write({receipt, rest[0], rest[1]});
  EXPECT_EQ(snapshot(), before);
}

TEST_F(PgEventStoreTest, AWebhookReceiptWithTheIntakePlaceholdersFindsItsVerification) {
  // Exactly what otp-intake publishes for a provider status callback.
  ASSERT_STREQ(kWebhookReceiptTenant, intake::webhooks::kProviderTenant);
  ASSERT_STREQ(kWebhookReceiptVerificationId, intake::webhooks::kUnknownVerificationId);
  auto vid = new_vid();
  write({make_event("w-created", "verification.created", vid, 0, created_data()),
         make_event("w-sent", "delivery.sent", vid, 900, sent_data())});
  write({make_event(
      "w-receipt", "delivery.status", kWebhookReceiptVerificationId, 5'000,
      {{"provider", "twilio"}, {"provider_message_id", "SM123"}, {"status", "delivered"}},
      kWebhookReceiptTenant)});
  auto rows = query(
      "SELECT delivery_receipt FROM verifications WHERE tenant = 'dev' AND verification_id = $1",
      {vid});
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0], "delivered");
  EXPECT_EQ(count("SELECT count(*) FROM otp_events WHERE id = 'w-receipt' AND tenant = 'dev'"
                  " AND verification_id = $1",
                  {vid}),
            1U);
  // No projection row for the placeholder tenant.
  EXPECT_EQ(count("SELECT count(*) FROM verifications WHERE tenant = '_provider'"), 0U);
}

TEST_F(PgEventStoreTest, AnUnmatchedReceiptIsStoredButProjectsNothing) {
  write({make_event(
      "u-receipt", "delivery.status", "", 0,
      {{"provider", "twilio"}, {"provider_message_id", "SMnowhere"}, {"status", "delivered"}},
      "")});
  EXPECT_EQ(count("SELECT count(*) FROM otp_events WHERE id = 'u-receipt'"), 1U);
  EXPECT_EQ(count("SELECT count(*) FROM verifications"), 0U);
}

TEST_F(PgEventStoreTest, AnEventForAnErasedVerificationDoesNotRestoreItsRecipient) {
  auto vid = new_vid();
  json data = created_data();
  data["recipient_hash"] = "hash-1";
  write({make_event("e-approved", "verification.approved", vid, 30'000)});
  write({make_event("e-created-late", "verification.created", vid, 5'000, data)});
  ASSERT_EQ(count("SELECT verifications_erased FROM otp_erase_recipient('dev', 'hash-1')"), 1U);
  // An earlier creation event (a duplicate publication under another id) arrives afterwards.
  write({make_event("e-created-early", "verification.created", vid, 0, data)});
  auto rows = query(
      "SELECT recipient_masked, recipient_hash, created_at = $2::timestamptz FROM verifications"
      " WHERE verification_id = $1",
      {vid, format_rfc3339(from_unix_ms(kBaseMs))});
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0], "[erased]");
  EXPECT_FALSE(rows[0][1].has_value());
  EXPECT_EQ(rows[0][2], "t");
  EXPECT_EQ(count("SELECT count(*) FROM otp_events WHERE data ? 'recipient_hash'"
                  " OR data ->> 'recipient_masked' <> '[erased]'"),
            0U);
}

TEST_F(PgEventStoreTest, AReplayedEventWithAnotherTimeIsStoredAndCountedOnce) {
  // otp_events has no key on (id, occurred_at) since 0012: the id guard alone (otp_event_ids)
  // must hold, even when a republished event carries another time, in another month.
  auto vid = new_vid();
  auto check = make_event("t-check", "verification.check_failed", vid, 10);
  ASSERT_EQ(write({check}).inserted, 1U);
  auto before = snapshot();
  auto replayed = check;
  replayed.time = from_unix_ms(kBaseMs + 40LL * 24 * 3600 * 1000);  // 40 days later
  auto again = write({replayed, make_event("t-check", "verification.approved", vid, 20)});
  EXPECT_EQ(again.inserted, 0U);
  EXPECT_EQ(again.verifications, 0U);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(verification(vid)["attempts"], 1);
  EXPECT_EQ(verification(vid)["status"], "pending");
}

TEST_F(PgEventStoreTest, ConcurrentWritersOfOverlappingBatchesStoreEachEventOnce) {
  // Two otp-audit processes can write the same records at once (a partition moving between
  // them during a rebalance, each replaying what the other had not committed): every event is
  // stored once and counted once, and neither writer fails or deadlocks.
  constexpr std::size_t kVerifications = 60;
  std::vector<std::string> vids;
  std::vector<messages::Event> all;
  for (std::size_t i = 0; i < kVerifications; ++i) {
    vids.push_back(new_vid());
    auto events = lifecycle(vids.back(), "w" + std::to_string(i));
    all.insert(all.end(), events.begin(), events.end());
  }
  // Writer A: everything in order; writer B: the same events reversed, and again the second
  // half, so the batches overlap in every way.
  std::vector<messages::Event> reversed(all.rbegin(), all.rend());
  std::vector<messages::Event> second_half(
      all.begin() + static_cast<std::ptrdiff_t>(all.size() / 2), all.end());
  pg::PgConnection other_connection(config::Secret(database_->url()),
                                    pg::PgOptions{.application_name = "otp-audit-test-b"});
  PgEventStore other(other_connection);
  std::size_t inserted_a = 0;
  std::size_t inserted_b = 0;
  std::thread writer_b([&] {
    for (const auto* batch : {&reversed, &second_half}) {
      auto written = other.write(*batch);
      ASSERT_TRUE(written.has_value()) << written.error().message;
      inserted_b += written->inserted;
    }
  });
  for (int round = 0; round < 2; ++round) {
    auto written = store_->write(all);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    inserted_a += written->inserted;
  }
  writer_b.join();

  EXPECT_EQ(inserted_a + inserted_b, all.size());
  EXPECT_EQ(count("SELECT count(*) FROM otp_events"), all.size());
  EXPECT_EQ(count("SELECT count(DISTINCT id) FROM otp_events"), all.size());
  EXPECT_EQ(count("SELECT count(*) FROM otp_event_ids"), all.size());
  EXPECT_EQ(count("SELECT count(*) FROM verifications"), kVerifications);
  EXPECT_EQ(count("SELECT sum(attempts) FROM verifications"), kVerifications);
  EXPECT_EQ(count("SELECT count(*) FROM verifications WHERE status = 'approved'"
                  " AND delivery_status = 'sent' AND created_at IS NOT NULL"),
            kVerifications);
}

TEST_F(PgEventStoreTest, TheLifecycleStatusOfHighestRankWinsWithinABatch) {
  // approved > canceled > max_attempts_reached > expired > pending, each decided inside one
  // batch (0012 maps the highest otp_lifecycle_rank back to its status).
  struct Case {
    std::vector<const char*> types;
    const char* status;
  };
  const std::vector<Case> cases = {
      {{"verification.created"}, "pending"},
      {{"verification.created", "verification.expired"}, "expired"},
      {{"verification.expired", "verification.max_attempts_reached", "verification.created"},
       "max_attempts_reached"},
      {{"verification.max_attempts_reached", "verification.canceled", "verification.expired"},
       "canceled"},
      {{"verification.canceled", "verification.approved", "verification.max_attempts_reached"},
       "approved"},
      {{"verification.check_failed", "delivery.sent"}, "pending"},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    auto vid = new_vid();
    std::vector<messages::Event> batch;
    for (std::size_t i = 0; i < cases[c].types.size(); ++i) {
      batch.push_back(make_event(
          "s" + std::to_string(c) + "-" + std::to_string(i), cases[c].types[i], vid,
          static_cast<std::int64_t>(i) * 1000,
          cases[c].types[i] == std::string("delivery.sent") ? sent_data() : json::object()));
    }
    write(batch);
    EXPECT_EQ(verification(vid)["lifecycle_status"], cases[c].status) << "case " << c;
  }
}

TEST_F(PgEventStoreTest, TextWithQuotesBackslashesControlsAndNonAsciiIsStoredExactly) {
  // The batch travels as JSON text written by hand (pg_event_store.cc): every string that is
  // not plain ASCII must arrive exactly as published, in otp_events and in the projection.
  auto vid = new_vid();
  json data = created_data();
  data["recipient_masked"] = "+49 \"1\\2\"\t*** ü 東京 \u0001";
  data["country"] = "D\\E";
  data["note"] = "line\nbreak";
  write({make_event("x-created", "verification.created", vid, 0, data),
         make_event("x-failed", "delivery.failed", vid, 1'000,
                    {{"provider", "vo\"nage"}, {"error_code", "E\\1\t"}, {"attempt", 1}})});
  auto rows = query(
      "SELECT recipient_masked, country, delivery_provider, delivery_error_code FROM verifications"
      " WHERE verification_id = $1",
      {vid});
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0][0], data["recipient_masked"].get<std::string>());
  EXPECT_EQ(rows[0][1], "D\\E");
  EXPECT_EQ(rows[0][2], "vo\"nage");
  EXPECT_EQ(rows[0][3], "E\\1\t");
  auto stored = query("SELECT data::text FROM otp_events WHERE id = 'x-created'");
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(json::parse(*stored[0][0]), data);
}

TEST(PgConnectionErrors, AnUnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  pg::PgConnection nowhere(config::Secret("postgresql://otp@127.0.0.1:1/otp?connect_timeout=2"),
                           {});
  auto connected = nowhere.connect();
  ASSERT_FALSE(connected.has_value());
  EXPECT_EQ(connected.error().code, Errc::kUnavailable);
  EXPECT_FALSE(nowhere.is_connected());
  PgEventStore store(nowhere);
  std::vector<messages::Event> events{
      make_event("u-1", "verification.approved", "otp_0123456789abcdef0123456789abcdef", 0)};
  auto written = store.write(events);
  ASSERT_FALSE(written.has_value());
  EXPECT_TRUE(written.error().is_retryable());
}

}  // namespace
}  // namespace otp::audit
