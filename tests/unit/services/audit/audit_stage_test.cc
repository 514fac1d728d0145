#include "services/audit/audit_stage.h"

#include "services/audit/crash_after_commit_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace otp::audit {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

/// Remembers every batch; fails with `failure` while it is set.
class RecordingEventStore final : public EventStore {
 public:
  Result<WriteSummary> write(std::span<const messages::Event> events) override {
    batches.emplace_back(events.begin(), events.end());
    if (failure) return tl::unexpected(*failure);
    return WriteSummary{.inserted = events.size(), .verifications = 1};
  }

  std::vector<std::vector<messages::Event>> batches;
  std::optional<Error> failure;
};

json event_json() {
  return {{"schema_version", 1},
          {"id", "evt-1"},
          {"type", "verification.created"},
          {"source", "otp-generator"},
          {"time", "2026-11-21T21:30:00.123Z"},
          {"tenant", "dev"},
          {"verification_id", kVid},
          {"data",
           {{"channel", "sms"},
            {"recipient_masked", "+1415*****71"},
            {"code_length", 6},
            {"expires_at", "2026-11-21T21:40:00.123Z"},
            {"max_attempts", 5}}}};
}

kafka::Record record_of(const std::string& value) {
  kafka::Record record;
  record.topic = "otp.events";
  record.offset = 7;
  record.value = value;
  return record;
}

messages::Event sample_event(const std::string& id) {
  return messages::Event{.id = id,
                         .type = "verification.approved",
                         .source = "otp-generator",
                         .time = from_unix_ms(1'800'000'000'000),
                         .tenant = "dev",
                         .verification_id = kVid,
                         .data = json::object()};
}

TEST(AuditStageDecode, AcceptsAWellFormedEvent) {
  RecordingEventStore store;
  AuditStage stage(store);
  auto event = stage.decode(record_of(event_json().dump()));
  ASSERT_TRUE(event.has_value()) << event.error().message;
  EXPECT_EQ(event->id, "evt-1");
  EXPECT_EQ(event->type, "verification.created");
  EXPECT_EQ(event->tenant, "dev");
  EXPECT_EQ(event->verification_id, kVid);
  EXPECT_EQ(format_rfc3339(event->time), "2026-11-21T21:30:00.123Z");
  EXPECT_EQ(event->data.at("recipient_masked"), "+1415*****71");
  EXPECT_EQ(event->data.at("code_length"), 6);  // a length is not a code
}

TEST(AuditStageDecode, AcceptsAnEventWithoutData) {
  RecordingEventStore store;
  AuditStage stage(store);
  auto payload = event_json();
  payload.erase("data");
  auto event = stage.decode(record_of(payload.dump()));
  ASSERT_TRUE(event.has_value()) << event.error().message;
  EXPECT_TRUE(event->data.is_object());
  EXPECT_TRUE(event->data.empty());
}

TEST(AuditStageDecode, RefusesWhatIsNotJson) {
  RecordingEventStore store;
  AuditStage stage(store);
  for (const char* payload : {"", "{", "not json", "[1,2]", "\"text\""}) {
    auto event = stage.decode(record_of(payload));
    ASSERT_FALSE(event.has_value()) << payload;
    EXPECT_EQ(event.error().code, Errc::kInvalidInput) << payload;
  }
}

TEST(AuditStageDecode, RefusesOtherSchemaVersions) {
  RecordingEventStore store;
  AuditStage stage(store);
  for (const json& version : {json(2), json(0), json("1"), json(nullptr)}) {
    auto payload = event_json();
    payload["schema_version"] = version;
    auto event = stage.decode(record_of(payload.dump()));
    ASSERT_FALSE(event.has_value()) << version;
    EXPECT_EQ(event.error().code, Errc::kInvalidInput);
    EXPECT_THAT(event.error().message, HasSubstr("schema_version"));
  }
}

TEST(AuditStageDecode, RefusesMissingOrMistypedFields) {
  RecordingEventStore store;
  AuditStage stage(store);
  for (const char* field : {"id", "type", "source", "time", "tenant", "verification_id"}) {
    auto payload = event_json();
    payload.erase(field);
    auto event = stage.decode(record_of(payload.dump()));
    ASSERT_FALSE(event.has_value()) << field;
    EXPECT_EQ(event.error().code, Errc::kInvalidInput);
    EXPECT_THAT(event.error().message, HasSubstr(field));
  }
  auto bad_time = event_json();
  bad_time["time"] = "yesterday";
  EXPECT_FALSE(stage.decode(record_of(bad_time.dump())).has_value());
  auto bad_vid = event_json();
  bad_vid["verification_id"] = "otp_XYZ";
  EXPECT_FALSE(stage.decode(record_of(bad_vid.dump())).has_value());
  auto bad_data = event_json();
  bad_data["data"] = json::array({1, 2});
  EXPECT_FALSE(stage.decode(record_of(bad_data.dump())).has_value());
}

TEST(AuditStageDecode, RefusesDataThatLooksLikeACodeAtAnyDepth) {
  RecordingEventStore store;
  AuditStage stage(store);
  for (const char* key : {"code", "otp", "otp_code", "otp_code_sealed", "sealed_code"}) {
    auto top = event_json();
    top["data"][key] = "123456";
    auto event = stage.decode(record_of(top.dump()));
    ASSERT_FALSE(event.has_value()) << key;
    EXPECT_EQ(event.error().code, Errc::kInvalidInput);
    EXPECT_THAT(event.error().message, HasSubstr(std::string("data.") + key));
    EXPECT_THAT(event.error().message, ::testing::Not(HasSubstr("123456")));

    auto nested = event_json();
    nested["data"]["provider_response"] = {{"items", json::array({{{key, 42}}})}};
    EXPECT_FALSE(stage.decode(record_of(nested.dump())).has_value()) << key;
  }
  auto fine = event_json();
  fine["data"]["error_code"] = "21211";  // delivery.failed's provider error code is fine
  EXPECT_TRUE(stage.decode(record_of(fine.dump())).has_value());
}

TEST(AuditStageDecode, RefusesWhatPostgresCannotStore) {
  RecordingEventStore store;
  AuditStage stage(store);
  auto nul = event_json();
  nul["data"]["reason"] = std::string("bad\0byte", 8);
  auto event = stage.decode(record_of(nul.dump()));
  ASSERT_FALSE(event.has_value());
  EXPECT_THAT(event.error().message, HasSubstr("NUL"));

  for (const char* time : {"1900-01-01T00:00:00Z", "1969-12-31T23:59:59Z"}) {
    auto ancient = event_json();
    ancient["time"] = time;
    auto refused = stage.decode(record_of(ancient.dump()));
    ASSERT_FALSE(refused.has_value()) << time;
    EXPECT_THAT(refused.error().message, HasSubstr("out of range"));
  }

  auto deep = event_json();
  json nested = "leaf";
  for (int i = 0; i < 20; ++i) nested = json{{"level", nested}};
  deep["data"]["nested"] = nested;
  EXPECT_FALSE(stage.decode(record_of(deep.dump())).has_value());
}

TEST(AuditStageWrite, PassesTheBatchToTheStore) {
  RecordingEventStore store;
  AuditStage stage(store);
  std::vector<messages::Event> batch{sample_event("evt-1"), sample_event("evt-2")};
  auto written = stage.write(batch);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  ASSERT_EQ(store.batches.size(), 1U);
  ASSERT_EQ(store.batches[0].size(), 2U);
  EXPECT_EQ(store.batches[0][0].id, "evt-1");
  EXPECT_EQ(store.batches[0][1].id, "evt-2");
}

TEST(AuditStageWrite, SkipsTheStoreForAnEmptyBatch) {
  RecordingEventStore store;
  AuditStage stage(store);
  EXPECT_TRUE(stage.write({}).has_value());
  EXPECT_TRUE(store.batches.empty());
}

TEST(AuditStageWrite, ReturnsTheStoreErrorUnchanged) {
  RecordingEventStore store;
  AuditStage stage(store);
  std::vector<messages::Event> batch{sample_event("evt-1")};
  for (auto code : {Errc::kUnavailable, Errc::kInvalidInput}) {
    store.failure = Error{code, "pg: test failure"};
    auto written = stage.write(batch);
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().code, code);
    EXPECT_EQ(written.error().message, "pg: test failure");
  }
  EXPECT_EQ(store.batches.size(), 2U);
}

TEST(CrashAfterCommitStoreDeathTest, ExitsWith137RightAfterTheNthSuccessfulWrite) {
  RecordingEventStore inner;
  CrashAfterCommitStore store(inner, 2);
  std::vector<messages::Event> batch{sample_event("evt-1")};
  ASSERT_TRUE(store.write(batch).has_value());
  // A failed write is no commit: it does not count.
  inner.failure = Error{.code = Errc::kUnavailable, .message = "down"};
  EXPECT_FALSE(store.write(batch).has_value());
  inner.failure.reset();
  EXPECT_EXIT((void)store.write(batch), ::testing::ExitedWithCode(137), "");
}

TEST(CrashAfterCommitStore, ZeroNeverCrashes) {
  RecordingEventStore inner;
  CrashAfterCommitStore store(inner, 0);
  std::vector<messages::Event> batch{sample_event("evt-1")};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.write(batch).has_value());
  EXPECT_EQ(inner.batches.size(), 5U);
}

}  // namespace
}  // namespace otp::audit
