#include "common/schema/validating_stage.h"

#include "common/kafka/stage_runner.h"
#include "common/messages/topics.h"
#include "tests/support/in_memory_producer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>

namespace otp::schema {
namespace {

using ::testing::StartsWith;

// A small schema of its own, so this test does not depend on the repository's payloads.
constexpr char kGreetingSchema[] = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["schema_version", "name"],
  "properties": {
    "schema_version": {"const": 1, "type": "integer"},
    "name": {"$ref": "#/$defs/id"}
  },
  "$defs": {"id": {"type": "string", "pattern": "^[a-z]+$"}}
})";

/// Greets whoever the record names; counts what reaches it.
struct GreetingStage {
  using Input = std::string;
  int decoded = 0;

  Result<std::string> decode(const kafka::Record& record) {
    ++decoded;
    return record.value;
  }
  Result<std::vector<kafka::OutboundRecord>> handle(const std::string& input) {
    return std::vector<kafka::OutboundRecord>{{"out", "k", "hello " + input, {}, std::nullopt}};
  }
};
static_assert(kafka::PipelineStage<ValidatingStage<GreetingStage>>);

/// GreetingStage that can also take the validator's parsed document (as the generator does).
struct ParsedGreetingStage : GreetingStage {
  int decoded_parsed = 0;

  using GreetingStage::decode;
  Result<std::string> decode(const kafka::Record& /*record*/, nlohmann::json&& document) {
    ++decoded_parsed;
    return document.at("name").get<std::string>();
  }
};
static_assert(kafka::PipelineStage<ValidatingStage<ParsedGreetingStage>>);

class ValidatingStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("otp-validating-stage-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "greeting.v1.json") << kGreetingSchema;
    auto loaded = SchemaValidator::load(dir_);
    ASSERT_TRUE(loaded) << loaded.error().message;
    validator_.emplace(std::move(*loaded));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static kafka::Record record(std::string topic, std::string value) {
    kafka::Record out;
    out.topic = std::move(topic);
    out.partition = 1;
    out.offset = 9;
    out.key = "k";
    out.value = std::move(value);
    return out;
  }

  static kafka::RunnerOptions options() {
    kafka::RunnerOptions out;
    out.stage_name = "greeter";
    out.dlq_topic = "dlq";
    return out;
  }

  static std::optional<std::string> header(const kafka::OutboundRecord& record,
                                           const std::string& name) {
    for (const auto& [key, value] : record.headers) {
      if (key == name) return value;
    }
    return std::nullopt;
  }

  std::filesystem::path dir_;
  std::optional<SchemaValidator> validator_;
  TopicSchemas topics_{{"greetings", "greeting.v1.json"}};
};

TEST_F(ValidatingStageTest, PassesAValidRecordToTheWrappedStage) {
  GreetingStage inner;
  ValidatingStage stage(inner, *validator_, topics_);
  testing::InMemoryProducer producer;
  kafka::StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  const std::string value = R"({"schema_version": 1, "name": "ada"})";
  runner.process(record("greetings", value), stop);
  EXPECT_EQ(inner.decoded, 1);
  ASSERT_EQ(producer.records().size(), 1U);
  EXPECT_EQ(producer.records()[0].topic, "out");
  EXPECT_EQ(producer.records()[0].value, "hello " + value);
}

TEST_F(ValidatingStageTest, AStageThatTakesTheParsedDocumentGetsItInsteadOfTheText) {
  ParsedGreetingStage inner;
  ValidatingStage stage(inner, *validator_, topics_);
  auto decoded = stage.decode(record("greetings", R"({"schema_version": 1, "name": "ada"})"));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, "ada");  // what the document overload made of it, not the raw text
  EXPECT_EQ(inner.decoded_parsed, 1);
  EXPECT_EQ(inner.decoded, 0);
  // A violation still fails with the validator's reason, before the stage sees anything.
  auto refused = stage.decode(record("greetings", R"({"schema_version": 1, "name": "ADA"})"));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, StartsWith("greeting.v1.json: /name: "));
  EXPECT_EQ(inner.decoded_parsed, 1);
}

TEST_F(ValidatingStageTest, DeadLettersASchemaViolationWithTheReasonInItsHeaders) {
  GreetingStage inner;
  ValidatingStage stage(inner, *validator_, topics_);
  testing::InMemoryProducer producer;
  kafka::StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  const std::string value = R"({"schema_version": 1, "name": "Ada Lovelace"})";
  runner.process(record("greetings", value), stop);
  EXPECT_EQ(inner.decoded, 0);
  auto parked = producer.records_for("dlq");
  ASSERT_EQ(parked.size(), 1U);
  EXPECT_EQ(producer.records().size(), 1U);
  EXPECT_EQ(parked[0].value, value);
  EXPECT_EQ(header(parked[0], messages::kHeaderDlqReason),
            "greeting.v1.json: /name: Failed to match regex specified by 'pattern' constraint.");
  EXPECT_EQ(header(parked[0], messages::kHeaderDlqSourceTopic), "greetings");
  EXPECT_EQ(header(parked[0], messages::kHeaderDlqStage), "greeter");
  // The partition moves on: the poison record's offset is released once the DLQ write is acked.
  auto ready = runner.tracker().take_ready();
  ASSERT_EQ(ready.size(), 1U);
  EXPECT_EQ(ready[0].second, 10);
}

TEST_F(ValidatingStageTest, DeadLettersAnUnsupportedSchemaVersionAndGarbage) {
  GreetingStage inner;
  ValidatingStage stage(inner, *validator_, topics_);
  testing::InMemoryProducer producer;
  kafka::StageRunner runner(stage, producer, options());
  std::atomic<bool> stop{false};
  runner.process(record("greetings", R"({"schema_version": 2, "name": "ada"})"), stop);
  runner.process(record("greetings", "\x01garbage"), stop);
  auto parked = producer.records_for("dlq");
  ASSERT_EQ(parked.size(), 2U);
  EXPECT_THAT(*header(parked[0], messages::kHeaderDlqReason),
              StartsWith("greeting.v1.json: /schema_version: "));
  EXPECT_EQ(header(parked[1], messages::kHeaderDlqReason),
            "greeting.v1.json: (root): not valid JSON");
  EXPECT_EQ(inner.decoded, 0);
}

TEST_F(ValidatingStageTest, RefusesARecordFromATopicWithoutSchema) {
  GreetingStage inner;
  ValidatingStage stage(inner, *validator_, topics_);
  auto decoded = stage.decode(record("elsewhere", R"({"schema_version": 1, "name": "ada"})"));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
  EXPECT_EQ(decoded.error().message, "no schema registered for topic elsewhere");
  EXPECT_EQ(inner.decoded, 0);
}

TEST(TopicSchemas, MapsEveryVersionedTopicOfAPrefix) {
  auto topics = messages::Topics::with_prefix("t1.");
  auto schemas = topic_schemas(topics);
  EXPECT_EQ(schemas.at("t1.send-requests"), "send-request.v1.json");
  EXPECT_EQ(schemas.at(topics.verify_requests), "verify-request.v1.json");
  EXPECT_EQ(schemas.at(topics.replies), "reply.v1.json");
  EXPECT_EQ(schemas.at(topics.delivery_sms), "delivery-job.v1.json");
  EXPECT_EQ(schemas.at(topics.events), "event.v1.json");
  EXPECT_FALSE(schemas.contains(topics.dlq));
}

}  // namespace
}  // namespace otp::schema
