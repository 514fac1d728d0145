// otp-generator: owns OTP state. Consumes send and verify requests, keeps codes as HMACs in
// Redis, and publishes delivery jobs, replies and lifecycle events (README.md).

#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/split_producer.h"
#include "common/kafka/stage_runner.h"
#include "common/log/log.h"
#include "common/pg/pg_connection.h"
#include "common/phone/numbering_plans.h"
#include "common/process/signals.h"
#include "common/random/rng.h"
#include "common/redis/redis_client.h"
#include "common/schema/schema_validator.h"
#include "common/schema/topic_schemas.h"
#include "common/schema/validating_stage.h"
#include "common/time/clock.h"
#include "services/generator/generator_config.h"
#include "services/generator/generator_stage.h"
#include "services/generator/pg_tenant_settings.h"
#include "services/generator/redis_code_store.h"
#include "services/generator/tenant_settings.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>

namespace {

int run(const otp::generator::GeneratorConfig& config, const std::atomic<bool>& stop) {
  using namespace otp;

  SystemClock clock;
  OpenSslRng rng;
  redis::RedisClient redis_client(config.redis);
  generator::RedisCodeStore store(redis_client);
  // Not fatal: the process starts without Redis and fails closed until it is back (every record
  // is retried, and scripts are loaded on first use).
  if (auto loaded = store.load_scripts(); !loaded) {
    spdlog::warn("redis.unavailable_at_start error=\"{}\"", loaded.error().message);
  }

  // Two producers: replies, which a client waits for, leave within linger.ms 2; events, delivery
  // jobs and dead letters wait up to 10 ms for company (GeneratorConfig::bulk_producer_settings).
  auto reply_producer = kafka::KafkaProducer::create(config.producer_settings());
  if (!reply_producer) {
    spdlog::error("kafka.producer_failed error=\"{}\"", reply_producer.error().message);
    return 1;
  }
  auto bulk_producer = kafka::KafkaProducer::create(config.bulk_producer_settings());
  if (!bulk_producer) {
    spdlog::error("kafka.producer_failed error=\"{}\"", bulk_producer.error().message);
    return 1;
  }
  auto consumer = kafka::Consumer::create(config.kafka, config.consumer_group);
  if (!consumer) {
    spdlog::error("kafka.consumer_failed error=\"{}\"", consumer.error().message);
    return 1;
  }
  // Tenant rules: PostgreSQL behind a cache, or the same rules for every tenant. A short
  // statement timeout: the cache reloads on the consumer thread.
  pg::PgConnection db(config.pg_url, {.application_name = "otp-generator",
                                      .statement_timeout = std::chrono::milliseconds(2'000)});
  generator::PgTenantSettingsLoader loader(db);
  std::unique_ptr<generator::TenantSettingsSource> tenants;
  if (config.tenant_settings_from_pg) {
    tenants = std::make_unique<generator::CachedTenantSettings>(
        [&loader] { return loader.load_all(); }, clock, config.tenant_refresh);
  } else {
    spdlog::warn("tenants.from_env every tenant is accepted with the same rules");
    tenants = std::make_unique<generator::StaticTenantSettings>(config.env_tenant_settings());
  }

  generator::GeneratorStage stage(store, *tenants, config, rng, clock);
  const auto& topics = stage.topics();
  if (auto subscribed = (*consumer)->subscribe({topics.send_requests, topics.verify_requests});
      !subscribed) {
    spdlog::error("kafka.subscribe_failed error=\"{}\"", subscribed.error().message);
    return 1;
  }

  // Records are checked against the published JSON Schemas before decoding: what upstream
  // publishers are promised is exactly what is enforced, and a violation is dead-lettered with
  // the schema's own reason.
  auto schemas = schema::SchemaValidator::load(config.schema_dir);
  if (!schemas) {
    spdlog::error("generator.schemas_load_failed dir={} error=\"{}\"", config.schema_dir,
                  schemas.error().message);
    return 1;
  }
  schema::ValidatingStage validating(stage, *schemas, schema::topic_schemas(topics));
  // The phone numbering plans are compiled once per process (some ms): here, not in the first
  // sends' latency.
  phone::NumberingPlans::shared().compile_all();
  kafka::SplitProducer producer(**reply_producer, {topics.replies}, **bulk_producer);
  kafka::StageRunner runner(
      validating, producer,
      kafka::RunnerOptions{
          .stage_name = "generator", .dlq_topic = topics.dlq, .max_batch = config.max_batch});
  spdlog::info("generator.started group={} send_topic={} verify_topic={} redis={}:{}",
               config.consumer_group, topics.send_requests, topics.verify_requests,
               config.redis.host, config.redis.port);
  auto outcome = runner.run(**consumer, stop);
  if (!producer.flush(std::chrono::seconds(10))) spdlog::warn("generator.flush_timeout");
  if (!outcome) {
    spdlog::error("generator.stopped error=\"{}\"", outcome.error().message);
    return 1;
  }
  spdlog::info("generator.stopped");
  return 0;
}

}  // namespace

int main() {
  auto config = otp::generator::GeneratorConfig::from_env();
  if (!config) {
    std::fprintf(stderr, "otp-generator: %s\n", config.error().message.c_str());
    return 2;
  }
  otp::log::init("otp-generator", config->log_level);
  std::atomic<bool> stop{false};
  otp::process::stop_on_signals(stop);
  try {
    return run(*config, stop);
  } catch (const std::exception& error) {
    spdlog::error("generator.startup_failed error=\"{}\"", error.what());
    return 1;
  }
}
