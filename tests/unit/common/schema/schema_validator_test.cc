#include "common/schema/schema_validator.h"

#include "common/messages/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>

namespace otp::schema {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

const TimePoint kAt = from_unix_ms(1'795'000'000'123);
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

const SchemaValidator& repo_schemas() {
  static const SchemaValidator validator = [] {
    auto loaded = SchemaValidator::load(OTP_TEST_SCHEMA_DIR);
    if (!loaded) {
      ADD_FAILURE() << loaded.error().message;
      std::abort();
    }
    return std::move(*loaded);
  }();
  return validator;
}

messages::SendRequested send_requested() {
  messages::SendRequested out;
  out.request_id = "req-1";
  out.tenant = "dev";
  out.verification_id = kVid;
  out.recipient = "+15555550100";
  out.channel = messages::Channel::kSms;
  out.locale = "en-US";
  out.requested_at = kAt;
  return out;
}

messages::VerifyRequested verify_requested() {
  messages::VerifyRequested out;
  out.request_id = "req-2";
  out.tenant = "dev";
  out.verification_id = kVid;
  out.sealed_code = crypto::Sealed{"k1", "c2VhbGVkIGJ5dGVz"};
  out.requested_at = kAt;
  out.respond_by = kAt + std::chrono::seconds(5);
  return out;
}

messages::Reply reply() {
  messages::Reply out;
  out.correlation_id = "corr-1";
  out.request_id = "req-1";
  out.kind = messages::RequestKind::kVerify;
  out.tenant = "dev";
  out.verification_id = kVid;
  out.outcome = messages::Outcome::kInvalidCode;
  out.status = messages::Status::kPending;
  out.attempts_remaining = 4;
  out.expires_at = kAt;
  out.channel = messages::Channel::kSms;
  out.code_length = 6;
  out.message = "wrong code";
  return out;
}

messages::DeliveryJob delivery_job() {
  messages::DeliveryJob out;
  out.job_id = std::string(kVid) + ":1";
  out.tenant = "dev";
  out.verification_id = kVid;
  out.channel = messages::Channel::kEmail;
  out.recipient = "someone@example.com";
  out.sealed_code = crypto::Sealed{"k1", "c2VhbGVkIGJ5dGVz"};
  out.code_length = 8;
  out.locale = "de";
  out.expires_at = kAt;
  out.deadline = kAt - std::chrono::seconds(30);
  out.attempt = 2;
  return out;
}

messages::Event event() {
  messages::Event out;
  out.id = "0f1e2d3c-4b5a-8978-8695-a4b3c2d1e0f9";
  out.type = "verification.created";
  out.source = "otp-generator";
  out.time = kAt;
  out.tenant = "dev";
  out.verification_id = kVid;
  out.data = {{"channel", "sms"}, {"code_length", 6}};
  return out;
}

std::string error_of(std::string_view schema, const json& payload) {
  auto valid = repo_schemas().validate(schema, payload.dump());
  if (valid) return "(valid)";
  EXPECT_EQ(valid.error().code, Errc::kInvalidInput);
  return valid.error().message;
}

/// A fresh directory holding one schema file with `text`.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& text) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("otp-schema-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(path_);
    std::ofstream(path_ / "thing.v1.json") << text;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(SchemaValidator, LoadsEverySchemaFileOfTheRepository) {
  std::vector<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(OTP_TEST_SCHEMA_DIR)) {
    if (entry.path().extension() == ".json") on_disk.push_back(entry.path().filename().string());
  }
  std::sort(on_disk.begin(), on_disk.end());
  EXPECT_EQ(repo_schemas().schema_names(), on_disk);
  for (const char* name : {"send-request.v1.json", "verify-request.v1.json", "reply.v1.json",
                           "delivery-job.v1.json", "event.v1.json"}) {
    EXPECT_NE(std::find(on_disk.begin(), on_disk.end(), name), on_disk.end()) << name;
  }
}

// The contract tests: what our encoders write is what the published schemas describe.
TEST(SchemaContract, EncodedSendRequestedMatchesItsSchema) {
  EXPECT_TRUE(repo_schemas().validate("send-request.v1.json", encode(send_requested())));
  auto minimal = send_requested();
  minimal.verification_id.clear();
  minimal.locale.clear();
  auto valid = repo_schemas().validate("send-request.v1.json", encode(minimal));
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST(SchemaContract, SendOverridesAndAuditDataMatchTheSchemaWithinTheirBounds) {
  auto request = send_requested();
  request.code_length = 8;
  request.ttl_seconds = 120;
  request.purpose = "password_reset";
  request.metadata = nlohmann::json{{"order", "A-17"}, {"amount", 12.5}, {"vip", true}};
  const auto encoded = encode(request);
  auto valid = repo_schemas().validate("send-request.v1.json", encoded);
  EXPECT_TRUE(valid) << valid.error().message;
  for (const auto& [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"code_length", 11},
           {"ttl_seconds", 29},
           {"purpose", "sign up"},
           {"metadata", nlohmann::json{{"nested", nlohmann::json{{"a", 1}}}}}}) {
    auto object = nlohmann::json::parse(encoded);
    object[field] = value;
    EXPECT_FALSE(repo_schemas().validate("send-request.v1.json", object.dump())) << field;
  }
}

TEST(SchemaContract, ResendAndCancelMatchTheSchemaOnlyWithAVerificationId) {
  for (auto action : {messages::SendAction::kResend, messages::SendAction::kCancel}) {
    auto request = send_requested();
    request.action = action;
    auto valid = repo_schemas().validate("send-request.v1.json", encode(request));
    EXPECT_TRUE(valid) << valid.error().message;
    request.verification_id.clear();
    EXPECT_FALSE(repo_schemas().validate("send-request.v1.json", encode(request)).has_value());
  }
}

TEST(SchemaContract, EncodedVerifyRequestedMatchesItsSchemaSealedOrInClear) {
  auto valid = repo_schemas().validate("verify-request.v1.json", encode(verify_requested()));
  EXPECT_TRUE(valid) << valid.error().message;
  auto clear = verify_requested();
  clear.sealed_code.reset();
  clear.otp_code = "123456";
  clear.respond_by.reset();
  valid = repo_schemas().validate("verify-request.v1.json", encode(clear));
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST(SchemaContract, EncodedReplyMatchesItsSchemaWithAndWithoutOptionals) {
  auto valid = repo_schemas().validate("reply.v1.json", encode(reply()));
  EXPECT_TRUE(valid) << valid.error().message;
  messages::Reply bare;
  bare.correlation_id = "c";
  bare.request_id = "r";
  bare.tenant = "dev";
  bare.verification_id = kVid;
  bare.outcome = messages::Outcome::kNotFound;
  bare.status = messages::Status::kFailed;
  valid = repo_schemas().validate("reply.v1.json", encode(bare));
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST(SchemaContract, EncodedDeliveryJobMatchesItsSchema) {
  auto valid = repo_schemas().validate("delivery-job.v1.json", encode(delivery_job()));
  EXPECT_TRUE(valid) << valid.error().message;
  auto no_locale = delivery_job();
  no_locale.locale.clear();
  valid = repo_schemas().validate("delivery-job.v1.json", encode(no_locale));
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST(SchemaContract, EncodedEventMatchesItsSchema) {
  auto valid = repo_schemas().validate("event.v1.json", encode(event()));
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST(SchemaValidator, MissingFieldIsNamedByItsPointer) {
  auto payload = json::parse(encode(send_requested()));
  payload.erase("tenant");
  EXPECT_EQ(error_of("send-request.v1.json", payload),
            "send-request.v1.json: /tenant: Missing required property 'tenant'.");
}

TEST(SchemaValidator, WrongTypeIsRejected) {
  auto payload = json::parse(encode(delivery_job()));
  payload["code_length"] = "6";
  EXPECT_THAT(error_of("delivery-job.v1.json", payload),
              ::testing::StartsWith("delivery-job.v1.json: /code_length: "));
}

TEST(SchemaValidator, OtherOrNonIntegerSchemaVersionIsRejected) {
  auto payload = json::parse(encode(event()));
  payload["schema_version"] = 2;
  EXPECT_THAT(error_of("event.v1.json", payload),
              ::testing::StartsWith("event.v1.json: /schema_version: "));
  payload["schema_version"] = 1.0;
  EXPECT_THAT(error_of("event.v1.json", payload),
              ::testing::StartsWith("event.v1.json: /schema_version: "));
  payload.erase("schema_version");
  EXPECT_EQ(error_of("event.v1.json", payload),
            "event.v1.json: /schema_version: Missing required property 'schema_version'.");
}

// The ids are checked through "$ref": "#/$defs/id": this fails only if the 2020-12 $defs are
// really resolved (an unresolved ref would accept anything).
TEST(SchemaValidator, ResolvesDefsReferencesOfThe2020Dialect) {
  auto payload = json::parse(encode(send_requested()));
  payload["tenant"] = "dev tenant!";
  EXPECT_EQ(error_of("send-request.v1.json", payload),
            "send-request.v1.json: /tenant: Failed to match regex specified by 'pattern' "
            "constraint.");
  payload = json::parse(encode(send_requested()));
  payload["requested_at"] = "yesterday";
  EXPECT_THAT(error_of("send-request.v1.json", payload),
              ::testing::StartsWith("send-request.v1.json: /requested_at: "));
  auto job = json::parse(encode(delivery_job()));
  job["sealed_code"].erase("key_id");
  EXPECT_EQ(error_of("delivery-job.v1.json", job),
            "delivery-job.v1.json: /sealed_code/key_id: Missing required property 'key_id'.");
}

TEST(SchemaValidator, BadPatternIsRejected) {
  auto payload = json::parse(encode(verify_requested()));
  payload["verification_id"] = "otp_XYZ";
  EXPECT_EQ(error_of("verify-request.v1.json", payload),
            "verify-request.v1.json: /verification_id: Failed to match regex specified by "
            "'pattern' constraint.");
}

TEST(SchemaValidator, UnknownEnumValueIsRejected) {
  auto payload = json::parse(encode(send_requested()));
  payload["channel"] = "pigeon";
  EXPECT_THAT(error_of("send-request.v1.json", payload),
              ::testing::StartsWith("send-request.v1.json: /channel: "));
}

TEST(SchemaValidator, VerifyRequestNeedsExactlyOneCode) {
  auto both = json::parse(encode(verify_requested()));
  both["otp_code"] = "123456";
  EXPECT_EQ(error_of("verify-request.v1.json", both),
            "verify-request.v1.json: (root): Failed to validate against exactly one child schema.");
  auto neither = json::parse(encode(verify_requested()));
  neither.erase("otp_code_sealed");
  // The first branch of the oneOf names what is missing.
  EXPECT_EQ(error_of("verify-request.v1.json", neither),
            "verify-request.v1.json: /otp_code: Missing required property 'otp_code'.");
}

TEST(SchemaValidator, MessagesNeverQuoteTheRejectedValue) {
  auto payload = json::parse(encode(verify_requested()));
  payload.erase("otp_code_sealed");
  payload["otp_code"] = std::string(40, '7');  // too long
  auto message = error_of("verify-request.v1.json", payload);
  EXPECT_THAT(message, ::testing::StartsWith("verify-request.v1.json: "));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("7777")));
}

TEST(SchemaValidator, NonJsonAndNonObjectPayloadsAreRejected) {
  auto garbage = repo_schemas().validate("event.v1.json", "not json {");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Errc::kInvalidInput);
  EXPECT_EQ(garbage.error().message, "event.v1.json: (root): not valid JSON");
  EXPECT_THAT(error_of("event.v1.json", json::array({1, 2})),
              ::testing::StartsWith("event.v1.json: (root): "));
}

TEST(SchemaValidator, UnknownSchemaNameIsAnInternalError) {
  auto valid = repo_schemas().validate("nope.v1.json", "{}");
  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().code, Errc::kInternal);
}

TEST(SchemaValidatorLoad, RefusesA2020KeywordThatDraft7WouldIgnore) {
  ScratchDir dir(R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "properties": {"a": {"type": "array", "prefixItems": [{"type": "string"}]}}})");
  auto loaded = SchemaValidator::load(dir.path());
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message,
            "schemas: thing.v1.json: /properties/a/prefixItems: keyword not supported by the "
            "draft 7 validator");
}

TEST(SchemaValidatorLoad, AcceptsAPropertyNamedLikeAKeyword) {
  ScratchDir dir(R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "properties": {"prefixItems": {"type": "string"}}})");
  auto loaded = SchemaValidator::load(dir.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_FALSE(loaded->validate("thing.v1.json", R"({"prefixItems": 3})"));
  EXPECT_TRUE(loaded->validate("thing.v1.json", R"({"prefixItems": "x"})"));
}

TEST(SchemaValidatorLoad, RefusesRemoteReferencesUnknownDialectsAndBadJson) {
  ScratchDir remote(R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
    "$ref": "https://example.com/other.json"})");
  auto loaded = SchemaValidator::load(remote.path());
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("only local references"));

  ScratchDir dialect(R"({"$schema": "http://json-schema.org/draft-04/schema#"})");
  loaded = SchemaValidator::load(dialect.path());
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("$schema must be"));

  ScratchDir broken("{ not json");
  loaded = SchemaValidator::load(broken.path());
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, "schemas: thing.v1.json: not a JSON object");
}

TEST(SchemaValidatorLoad, RefusesAMissingOrEmptyDirectory) {
  auto loaded = SchemaValidator::load("/nonexistent/otp-schemas");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::kInvalidInput);
  ScratchDir dir("{}");
  std::filesystem::remove(dir.path() / "thing.v1.json");
  loaded = SchemaValidator::load(dir.path());
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("no *.json file"));
}

TEST(SchemaDir, DefaultsToTheSourceTreeAndHonoursOtpSchemaDir) {
  config::EnvReader unset([](const std::string&) { return std::optional<std::string>(); });
  EXPECT_EQ(schema_dir_from(unset), std::string(kDefaultSchemaDir));
  config::EnvReader set([](const std::string& key) {
    return key == "OTP_SCHEMA_DIR" ? std::optional<std::string>("/opt/otp/schemas")
                                   : std::optional<std::string>();
  });
  EXPECT_EQ(schema_dir_from(set), "/opt/otp/schemas");
}

}  // namespace
}  // namespace otp::schema
