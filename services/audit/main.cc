// otp-audit: consumes the events topic and writes it, batch by batch and idempotently, to
// PostgreSQL (otp_events and the verifications projection). See README.md.

#include "common/kafka/batch_runner.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/settings.h"
#include "common/log/log.h"
#include "common/pg/pg_connection.h"
#include "common/process/signals.h"
#include "services/audit/audit_config.h"
#include "services/audit/audit_stage.h"
#include "services/audit/crash_after_commit_store.h"
#include "services/audit/pg_event_store.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace {

int run(const otp::audit::AuditConfig& config) {
  std::atomic<bool> stop{false};
  otp::process::stop_on_signals(stop);
  auto topics = config.topics();

  otp::pg::PgConnection database(config.pg_url, {.application_name = "otp-audit",
                                                 .statement_timeout = std::chrono::seconds(30)});
  otp::audit::PgEventStore store(database);
  if (auto schema = store.check_schema(); !schema) {
    // A missing table or privilege never heals by itself; an unreachable server may.
    if (!schema.error().is_retryable()) {
      spdlog::error("audit.schema_unusable error=\"{}\"", schema.error().message);
      return 1;
    }
    spdlog::warn("audit.database_unavailable error=\"{}\" (writes retry)", schema.error().message);
  }
  // Test-only fault injection (README "Fault injection"); off unless the key is set.
  otp::audit::CrashAfterCommitStore crashing(store, config.crash_after_commit);
  if (config.crash_after_commit > 0) {
    spdlog::warn("audit.fault_injection crash_after_commit={} (test-only)",
                 config.crash_after_commit);
  }
  otp::audit::AuditStage stage(config.crash_after_commit > 0
                                   ? static_cast<otp::audit::EventStore&>(crashing)
                                   : static_cast<otp::audit::EventStore&>(store));

  auto producer = otp::kafka::KafkaProducer::create(config.kafka);  // for the dead-letter topic
  if (!producer) {
    spdlog::error("audit.producer_failed error=\"{}\"", producer.error().message);
    return 1;
  }
  // A bounded prefetch: behind a backlog librdkafka's default alone broke the 64 MiB RSS budget.
  auto consumer = otp::kafka::Consumer::create(config.consumer_settings(), config.consumer_group);
  if (!consumer) {
    spdlog::error("audit.consumer_failed error=\"{}\"", consumer.error().message);
    return 1;
  }
  if (auto subscribed = (*consumer)->subscribe({topics.events}); !subscribed) {
    spdlog::error("audit.subscribe_failed topic={} error=\"{}\"", topics.events,
                  subscribed.error().message);
    return 1;
  }

  otp::kafka::BatchRunner runner(stage, **producer,
                                 {.stage_name = "audit",
                                  .dlq_topic = topics.dlq,
                                  .batch_size = config.batch_size,
                                  .batch_age = config.batch_age});
  spdlog::info("audit.started topic={} group={} batch_size={} batch_ms={}", topics.events,
               config.consumer_group, config.batch_size, config.batch_age.count());
  auto ran = runner.run(**consumer, stop);
  (*producer)->flush(std::chrono::seconds(10));
  if (!ran) {
    spdlog::error("audit.stopped_on_error error=\"{}\"", ran.error().message);
    return 1;
  }
  spdlog::info("audit.stopped");
  return 0;
}

}  // namespace

int main() {
  auto config = otp::audit::AuditConfig::from_env();
  if (!config) {
    std::fprintf(stderr, "otp-audit: %s\n", config.error().message.c_str());
    return 2;
  }
  otp::log::init("otp-audit", config->log_level);
  return run(*config);
}
