#include "common/crypto/sealer.h"
#include "common/error/check.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/stage_runner.h"
#include "common/messages/messages.h"
#include "common/messages/topics.h"
#include "common/pg/pg_connection.h"
#include "common/random/rng.h"
#include "services/generator/generator_config.h"
#include "services/generator/generator_stage.h"
#include "services/generator/redis_code_store.h"
#include "tests/integration/generator/test_env.h"
#include "tests/support/subprocess.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace otp::generator {
namespace {

using namespace std::chrono_literals;
using messages::Outcome;
using testing::stack_env;
using testing::unique_name;

constexpr char kHmacKeys[] = "h1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
constexpr char kSealKeys[] = "s1:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

/// What a test reads back from the output topics.
struct Collected {
  std::vector<kafka::Record> replies;
  std::vector<kafka::Record> jobs;
  std::vector<kafka::Record> events;
};

class GeneratorKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto brokers = stack_env("OTP_TEST_KAFKA_BROKERS");
    auto redis_host = stack_env("OTP_TEST_REDIS_HOST");
    auto redis_port = stack_env("OTP_TEST_REDIS_PORT");
    ASSERT_TRUE(brokers && redis_host && redis_port);
    prefix_ = unique_name("it-gen") + ".";
    env_ = {{"OTP_KAFKA_BROKERS", *brokers}, {"OTP_TOPIC_PREFIX", prefix_},
            {"OTP_REDIS_HOST", *redis_host}, {"OTP_REDIS_PORT", *redis_port},
            {"OTP_HMAC_KEYS", kHmacKeys},    {"OTP_SEAL_KEYS", kSealKeys},
            {"OTP_LOG_LEVEL", "info"},       {"OTP_CONSUMER_GROUP", unique_name("it-gen-group")}};
    ASSERT_NO_FATAL_FAILURE(load_config());
    topics_ = messages::Topics::with_prefix(prefix_);
    settings_ = kafka::KafkaSettings{.brokers = *brokers, .client_id = "it-gen", .properties = {}};
    auto ensured = kafka::ensure_topics(settings_, topics_.specs(), 1, 30s);
    ASSERT_TRUE(ensured.has_value()) << ensured.error().message;
    auto producer = kafka::KafkaProducer::create(settings_);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);
    tenant_ = unique_name("tenant");
  }

  /// (Re)reads config_ from env_, as the process would from its environment.
  void load_config() {
    auto config = GeneratorConfig::from_env([this](const std::string& key) {
      auto it = env_.find(key);
      return it == env_.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
    ASSERT_TRUE(config.has_value()) << config.error().message;
    config_.emplace(std::move(*config));
  }

  void publish(const std::string& topic, std::string value, const std::string& correlation_id,
               std::vector<kafka::Header> extra_headers = {}) {
    kafka::OutboundRecord record{
        .topic = topic,
        .key = tenant_,
        .value = std::move(value),
        .headers = {{"correlation_id", correlation_id}, {"reply_partition", "2"}},
        .partition = std::nullopt};
    for (auto& header : extra_headers) record.headers.push_back(std::move(header));
    auto sent = kafka::publish_and_wait(*producer_, std::span(&record, 1), 30s);
    ASSERT_TRUE(sent.has_value()) << sent.error().message;
  }

  /// Reads the output topics until `done` says enough arrived, or 60 s passed.
  Collected collect(kafka::Consumer& reader, const std::function<bool(const Collected&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!done(collected_) && std::chrono::steady_clock::now() < deadline) {
      auto polled = reader.poll(100ms);
      if (!polled || !*polled) continue;
      auto& record = **polled;
      if (record.topic == topics_.replies) collected_.replies.push_back(record);
      if (record.topic == topics_.delivery_sms) collected_.jobs.push_back(record);
      if (record.topic == topics_.events) collected_.events.push_back(record);
    }
    return collected_;
  }

  std::unique_ptr<kafka::Consumer> reader() {
    auto consumer = kafka::Consumer::create(settings_, unique_name("it-gen-reader"));
    OTP_CHECK(consumer.has_value());
    OTP_CHECK((*consumer)
                  ->subscribe({topics_.replies, topics_.delivery_sms, topics_.events})
                  .has_value());
    return std::move(*consumer);
  }

  messages::SendRequested send_request() const {
    messages::SendRequested request;
    request.request_id = unique_name("send");
    request.tenant = tenant_;
    request.recipient = "+14155552671";
    request.channel = messages::Channel::kSms;
    request.requested_at = std::chrono::system_clock::now();
    return request;  // no verification id: the generator derives one
  }

  std::string prefix_;
  std::map<std::string, std::string> env_;
  std::optional<GeneratorConfig> config_;
  messages::Topics topics_;
  /// The generator as main.cc wires it (one StageRunner over the stage, tenant rules from the
  /// environment), in a thread consuming `topics` until `stop`; its result lands in `outcome`.
  std::thread run_generator(std::vector<std::string> topics, std::atomic<bool>& stop,
                            Result<void>& outcome) {
    return std::thread([this, topics = std::move(topics), &stop, &outcome] {
      OpenSslRng rng;
      SystemClock clock;
      redis::RedisClient client(config_->redis);
      RedisCodeStore store(client);
      StaticTenantSettings tenants(config_->env_tenant_settings());
      GeneratorStage stage(store, tenants, *config_, rng, clock);
      auto consumer = kafka::Consumer::create(settings_, config_->consumer_group);
      auto producer = kafka::KafkaProducer::create(settings_);
      if (!consumer || !producer || !(*consumer)->subscribe(topics)) {
        outcome = fail(Errc::kInternal, "generator setup failed");
        return;
      }
      kafka::StageRunner runner(
          stage, **producer,
          kafka::RunnerOptions{.stage_name = "generator", .dlq_topic = topics_.dlq});
      outcome = runner.run(**consumer, stop);
    });
  }

  kafka::KafkaSettings settings_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::string tenant_;
  Collected collected_;
};

TEST_F(GeneratorKafkaTest, SendThenVerifyRoundTripThroughKafka) {
  // The generator: one StageRunner in a thread, as main.cc wires it.
  std::atomic<bool> stop{false};
  Result<void> run_outcome;
  std::thread generator =
      run_generator({topics_.send_requests, topics_.verify_requests}, stop, run_outcome);
  auto output = reader();

  publish(topics_.send_requests, messages::encode(send_request()), "corr-send",
          {{"delivery_correlation_id", "dcorr-send"}});
  auto sent = collect(*output, [](const Collected& c) {
    return !c.replies.empty() && !c.jobs.empty() && !c.events.empty();
  });
  ASSERT_EQ(sent.replies.size(), 1U);
  ASSERT_EQ(sent.jobs.size(), 1U);
  ASSERT_EQ(sent.events.size(), 1U);
  EXPECT_EQ(sent.replies[0].partition, 2);
  EXPECT_EQ(sent.replies[0].key, "corr-send");
  auto reply = messages::decode_reply(sent.replies[0].value).value();
  EXPECT_EQ(reply.outcome, Outcome::kPending);
  EXPECT_EQ(reply.correlation_id, "corr-send");
  const auto vid = reply.verification_id;
  EXPECT_TRUE(is_verification_id(vid));
  EXPECT_EQ(sent.jobs[0].key, vid);
  // Seed 000's delivery reply: the headers travel on the job to the delivery worker.
  EXPECT_EQ(sent.jobs[0].header("delivery_correlation_id"), "dcorr-send");
  EXPECT_EQ(sent.jobs[0].header("reply_partition"), "2");
  EXPECT_EQ(reply.rate_limit_limit, 5);
  EXPECT_EQ(reply.rate_limit_remaining, 4);
  EXPECT_EQ(messages::decode_event(sent.events[0].value).value().type, "verification.created");

  // otp-delivery's view: the job's sealed code opens with the shared seal key.
  OpenSslRng rng;
  crypto::Sealer sealer(config_->seal_keys, rng);
  auto job = messages::decode_delivery_job(sent.jobs[0].value).value();
  auto code = sealer.unseal(job.sealed_code, vid);
  ASSERT_TRUE(code.has_value()) << code.error().message;

  // The intake's view: verify with the code sealed as it would seal it.
  messages::VerifyRequested verify;
  verify.request_id = unique_name("verify");
  verify.tenant = tenant_;
  verify.verification_id = vid;
  verify.sealed_code = sealer.seal(*code, vid);
  verify.requested_at = std::chrono::system_clock::now();
  publish(topics_.verify_requests, messages::encode(verify), "corr-verify");
  auto verified = collect(*output, [](const Collected& c) { return c.replies.size() >= 2; });
  ASSERT_EQ(verified.replies.size(), 2U);
  auto answer = messages::decode_reply(verified.replies[1].value).value();
  EXPECT_EQ(answer.correlation_id, "corr-verify");
  EXPECT_EQ(answer.outcome, Outcome::kApproved);
  EXPECT_EQ(answer.attempts_remaining, 4);

  // The HTTP API's status request: the verification id alone, no recipient.
  messages::SendRequested status;
  status.request_id = unique_name("status");
  status.tenant = tenant_;
  status.verification_id = vid;
  status.action = messages::SendAction::kStatus;
  status.requested_at = std::chrono::system_clock::now();
  publish(topics_.send_requests, messages::encode(status), "corr-status");
  auto looked = collect(*output, [](const Collected& c) { return c.replies.size() >= 3; });
  ASSERT_EQ(looked.replies.size(), 3U);
  auto state = messages::decode_reply(looked.replies[2].value).value();
  EXPECT_EQ(state.kind, messages::RequestKind::kStatus);
  EXPECT_EQ(state.outcome, Outcome::kOk);
  EXPECT_EQ(state.status, messages::Status::kApproved);
  EXPECT_EQ(state.attempts_remaining, 4);
  EXPECT_EQ(state.channel, messages::Channel::kSms);

  stop = true;
  generator.join();
  EXPECT_TRUE(run_outcome.has_value()) << run_outcome.error().message;
  output->close();
}

TEST_F(GeneratorKafkaTest, RequestCodeLengthAndTtlOverrideTheTenantsThroughKafkaAndRedis) {
  std::atomic<bool> stop{false};
  Result<void> run_outcome;
  // Tenant rules from the environment: 6 digits, 600 s.
  std::thread generator = run_generator({topics_.send_requests}, stop, run_outcome);
  auto output = reader();

  auto request = send_request();
  request.code_length = 8;
  request.ttl_seconds = 120;
  request.purpose = "login";
  request.metadata = nlohmann::json{{"order", "A-17"}};
  const auto before = std::chrono::system_clock::now();
  publish(topics_.send_requests, messages::encode(request), "corr-send");
  auto sent = collect(*output, [](const Collected& c) {
    return !c.replies.empty() && !c.jobs.empty() && !c.events.empty();
  });
  stop = true;
  generator.join();
  EXPECT_TRUE(run_outcome.has_value()) << run_outcome.error().message;
  output->close();
  ASSERT_EQ(sent.replies.size(), 1U);
  ASSERT_EQ(sent.jobs.size(), 1U);
  ASSERT_EQ(sent.events.size(), 1U);

  auto reply = messages::decode_reply(sent.replies[0].value).value();
  ASSERT_EQ(reply.outcome, Outcome::kPending) << reply.message;
  EXPECT_EQ(reply.code_length, 8);
  // expires_at is Redis TIME + 120 s: between the publish and now, give or take clock skew.
  ASSERT_TRUE(reply.expires_at.has_value());
  EXPECT_GE(*reply.expires_at, before + 115s);
  EXPECT_LE(*reply.expires_at, std::chrono::system_clock::now() + 125s);

  OpenSslRng rng;
  crypto::Sealer sealer(config_->seal_keys, rng);
  auto job = messages::decode_delivery_job(sent.jobs[0].value).value();
  EXPECT_EQ(job.code_length, 8);
  EXPECT_EQ(job.expires_at, *reply.expires_at);
  auto code = sealer.unseal(job.sealed_code, reply.verification_id);
  ASSERT_TRUE(code.has_value()) << code.error().message;
  EXPECT_EQ(code->size(), 8U);

  auto created = messages::decode_event(sent.events[0].value).value();
  EXPECT_EQ(created.type, "verification.created");
  EXPECT_EQ(created.data["code_length"], 8);
  EXPECT_EQ(created.data["purpose"], "login");
  EXPECT_EQ(created.data["metadata"], request.metadata);
}

TEST_F(GeneratorKafkaTest, VerificationsStayInRedisForTheConfiguredRetention) {
  // OTP_VERIFICATION_RETENTION_S reaches Redis: a verification's keys live ttl + retention.
  env_["OTP_VERIFICATION_RETENTION_S"] = "3600";
  ASSERT_NO_FATAL_FAILURE(load_config());
  std::atomic<bool> stop{false};
  Result<void> run_outcome;
  std::thread generator = run_generator({topics_.send_requests}, stop, run_outcome);
  auto output = reader();

  publish(topics_.send_requests, messages::encode(send_request()), "corr-send");
  auto sent = collect(*output, [](const Collected& c) { return !c.replies.empty(); });
  stop = true;
  generator.join();
  EXPECT_TRUE(run_outcome.has_value()) << run_outcome.error().message;
  output->close();
  ASSERT_EQ(sent.replies.size(), 1U);
  auto reply = messages::decode_reply(sent.replies[0].value).value();
  ASSERT_EQ(reply.outcome, Outcome::kPending) << reply.message;

  redis::RedisClient client(config_->redis);
  auto ttl = client.command({"PTTL", RedisCodeStore::index_key(tenant_, reply.verification_id)});
  ASSERT_TRUE(ttl.has_value()) << ttl.error().message;
  ASSERT_NE(ttl->integer(), nullptr);
  // 600 s of code ttl (the environment's default) + 3600 s, less the seconds the test took;
  // the default retention (24 h) would be far above.
  EXPECT_LE(*ttl->integer(), (600 + 3600) * 1000);
  EXPECT_GT(*ttl->integer(), (600 + 3600 - 60) * 1000);
}

TEST_F(GeneratorKafkaTest, ProcessAnswersAndExitsCleanlyOnSigterm) {
  std::vector<std::pair<std::string, std::string>> env(env_.begin(), env_.end());
  auto process = test::Subprocess::start({OTP_GENERATOR_BIN}, env,
                                         ::testing::TempDir() + "otp-generator-it.log");
  ASSERT_TRUE(process.has_value()) << process.error().message;
  auto output = reader();
  publish(topics_.send_requests, messages::encode(send_request()), "corr-process");
  auto sent = collect(*output, [](const Collected& c) { return !c.replies.empty(); });
  ASSERT_EQ(sent.replies.size(), 1U);
  EXPECT_EQ(messages::decode_reply(sent.replies[0].value).value().outcome, Outcome::kPending);

  process->terminate(20s);
  EXPECT_EQ(process->exit_status(), 0);
  output->close();
}

TEST_F(GeneratorKafkaTest, ProcessTakesTenantRulesFromPostgres) {
  auto pg_url = stack_env("OTP_TEST_PG_URL");
  ASSERT_TRUE(pg_url.has_value());
  pg::PgConnection db(config::Secret(*pg_url), {.application_name = "it-gen"});
  ASSERT_TRUE(db.exec("INSERT INTO tenants (id, name, test_numbers) VALUES ($1, 'it', $2)",
                      {tenant_, R"({"+14155552671": "4321"})"})
                  .has_value());

  auto env_map = env_;
  env_map["OTP_TENANT_SETTINGS"] = "postgres";
  env_map["OTP_PG_URL"] = *pg_url;
  std::vector<std::pair<std::string, std::string>> env(env_map.begin(), env_map.end());
  auto process = test::Subprocess::start({OTP_GENERATOR_BIN}, env,
                                         ::testing::TempDir() + "otp-generator-it-pg.log");
  ASSERT_TRUE(process.has_value()) << process.error().message;
  auto output = reader();
  // A test number: its fixed code, no delivery job, a delivery.skipped event.
  publish(topics_.send_requests, messages::encode(send_request()), "corr-test-number");
  auto unknown = send_request();
  unknown.tenant = unique_name("nobody");
  publish(topics_.send_requests, messages::encode(unknown), "corr-unknown");
  auto seen = collect(
      *output, [](const Collected& c) { return c.replies.size() >= 2 && c.events.size() >= 2; });
  ASSERT_EQ(seen.replies.size(), 2U);
  for (const auto& record : seen.replies) {
    auto reply = messages::decode_reply(record.value).value();
    if (reply.correlation_id == "corr-test-number") {
      EXPECT_EQ(reply.outcome, Outcome::kPending);
      EXPECT_EQ(reply.code_length, 4);
    } else {
      EXPECT_EQ(reply.outcome, Outcome::kInvalidRequest);
      EXPECT_EQ(reply.message, "unknown tenant");
    }
  }
  EXPECT_TRUE(seen.jobs.empty());
  std::vector<std::string> types;
  for (const auto& record : seen.events)
    types.push_back(messages::decode_event(record.value)->type);
  EXPECT_EQ(types, (std::vector<std::string>{"verification.created", "delivery.skipped"}));

  process->terminate(20s);
  EXPECT_EQ(process->exit_status(), 0);
  output->close();
  (void)db.exec("DELETE FROM tenants WHERE id = $1", {tenant_});
}

}  // namespace
}  // namespace otp::generator
