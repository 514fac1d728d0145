#include "services/audit/audit_config.h"

#include "common/kafka/settings.h"

#include <algorithm>

namespace otp::audit {
namespace {

bool is_topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

Result<AuditConfig> AuditConfig::from_env(config::EnvReader::Lookup lookup) {
  config::EnvReader env(std::move(lookup));
  AuditConfig config;
  config.kafka = kafka::settings_from_env(env, "otp-audit");
  config.topic_prefix = env.string("OTP_TOPIC_PREFIX", "otp.");
  // Kafka topic names allow [A-Za-z0-9._-] and 249 characters; leave room for the suffixes.
  if (config.topic_prefix.size() > 200 ||
      !std::all_of(config.topic_prefix.begin(), config.topic_prefix.end(), is_topic_char)) {
    env.reject("OTP_TOPIC_PREFIX", "must be at most 200 characters of [A-Za-z0-9._-]");
  }
  config.consumer_group = env.string("OTP_CONSUMER_GROUP", "otp-audit");
  config.pg_url = env.required_secret("OTP_PG_URL");
  config.batch_size =
      static_cast<std::size_t>(env.integer("OTP_AUDIT_BATCH_SIZE", 1000, 1, 100000));
  config.batch_age = env.millis("OTP_AUDIT_BATCH_MS", std::chrono::milliseconds(100),
                                std::chrono::milliseconds(1), std::chrono::milliseconds(60000));
  config.crash_after_commit =
      static_cast<std::size_t>(env.integer("OTP_AUDIT_CRASH_AFTER_COMMIT", 0, 0, 1'000'000'000));
  config.log_level =
      env.choice("OTP_LOG_LEVEL", "info", {"trace", "debug", "info", "warn", "error"});
  if (auto done = env.finish(); !done) return tl::unexpected(done.error());
  return config;
}

kafka::KafkaSettings AuditConfig::consumer_settings() const {
  return kafka::with_defaults(
      kafka, {{"queued.max.messages.kbytes", "2048"}, {"max.partition.fetch.bytes", "1048576"}});
}

}  // namespace otp::audit
