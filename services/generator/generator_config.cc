#include "services/generator/generator_config.h"

#include "common/crypto/code_generator.h"
#include "common/kafka/settings.h"
#include "common/schema/schema_validator.h"

#include <optional>

namespace otp::generator {
namespace {

using std::chrono::milliseconds;

// Parses a key ring, reporting a bad one through `env` under `key`.
std::optional<crypto::KeyRing> read_key_ring(config::EnvReader& env, const std::string& key) {
  auto spec = env.required_secret(key);
  if (spec.empty()) return std::nullopt;  // already reported as missing
  auto ring = crypto::KeyRing::parse(spec.reveal());
  if (!ring) {
    env.reject(key, ring.error().message);
    return std::nullopt;
  }
  return std::move(*ring);
}

}  // namespace

Result<GeneratorConfig> GeneratorConfig::from_env(config::EnvReader::Lookup lookup) {
  config::EnvReader env(std::move(lookup));
  auto kafka = kafka::settings_from_env(env, "otp-generator");
  auto topic_prefix = env.string("OTP_TOPIC_PREFIX", "otp.");
  auto consumer_group = env.string("OTP_CONSUMER_GROUP", "otp-generator");
  auto log_level = env.choice("OTP_LOG_LEVEL", "info", {"trace", "debug", "info", "warn", "error"});

  redis::RedisOptions redis;
  redis.host = env.string("OTP_REDIS_HOST", "127.0.0.1");
  redis.port = static_cast<int>(env.integer("OTP_REDIS_PORT", 6379, 1, 65535));
  redis.password = env.secret("OTP_REDIS_PASSWORD");
  redis.connect_timeout =
      env.millis("OTP_REDIS_TIMEOUT_MS", milliseconds(500), milliseconds(10), milliseconds(60'000));
  redis.command_timeout = redis.connect_timeout;

  auto hmac_keys = read_key_ring(env, "OTP_HMAC_KEYS");
  auto seal_keys = read_key_ring(env, "OTP_SEAL_KEYS");
  const auto code_length =
      static_cast<int>(env.integer("OTP_CODE_LENGTH", 6, crypto::OtpCodeGenerator::kMinLength,
                                   crypto::OtpCodeGenerator::kMaxLength));
  const auto code_ttl = std::chrono::seconds(env.integer("OTP_CODE_TTL_S", 600, 60, 86'400));
  const auto max_attempts = static_cast<int>(env.integer("OTP_MAX_ATTEMPTS", 5, 1, 10));
  const auto delivery_margin = env.millis("OTP_DELIVERY_MARGIN_MS", milliseconds(10'000),
                                          milliseconds(0), milliseconds(50'000));
  const auto verify_max_age = env.millis("OTP_VERIFY_MAX_AGE_MS", milliseconds(15'000),
                                         milliseconds(100), milliseconds(600'000));
  // Redis holds every verification for its ttl plus this (docs/operations.md, "Redis memory and
  // AOF"): at a sustained 5,000 sends/s a day of it does not fit in memory.
  const auto retention =
      std::chrono::seconds(env.integer("OTP_VERIFICATION_RETENTION_S", 86'400, 60, 604'800));

  const bool from_pg = env.choice("OTP_TENANT_SETTINGS", "env", {"env", "postgres"}) == "postgres";
  auto pg_url = from_pg ? env.required_secret("OTP_PG_URL") : env.secret("OTP_PG_URL");
  const auto tenant_refresh = env.millis("OTP_TENANT_REFRESH_MS", milliseconds(5'000),
                                         milliseconds(100), milliseconds(600'000));

  const auto sends_per_destination =
      static_cast<int>(env.integer("OTP_SENDS_PER_DESTINATION", 5, 1, 1'000'000));
  const auto send_window = std::chrono::seconds(env.integer("OTP_SEND_WINDOW_S", 600, 1, 86'400));
  const auto failure_lock_threshold =
      static_cast<int>(env.integer("OTP_FAILURE_LOCK_THRESHOLD", 100, 1, 1'000'000));
  const auto send_rate = env.integer("OTP_SEND_RATE_PER_SECOND", 50, 1, 10'000'000);
  const auto send_burst = static_cast<int>(env.integer("OTP_SEND_BURST", 100, 1, 1'000'000'000));

  auto schema_dir = schema::schema_dir_from(env);
  const auto max_batch =
      static_cast<std::size_t>(env.integer("OTP_GENERATOR_MAX_BATCH", 256, 1, 4096));

  if (auto done = env.finish(); !done) return tl::unexpected(done.error());
  return GeneratorConfig{
      .kafka = std::move(kafka),
      .topic_prefix = std::move(topic_prefix),
      .consumer_group = std::move(consumer_group),
      .log_level = std::move(log_level),
      .redis = std::move(redis),
      .hmac_keys = std::move(*hmac_keys),
      .seal_keys = std::move(*seal_keys),
      .code_length = code_length,
      .code_ttl = code_ttl,
      .max_attempts = max_attempts,
      .delivery_margin = delivery_margin,
      .verify_max_age = verify_max_age,
      .retention = retention,
      .tenant_settings_from_pg = from_pg,
      .pg_url = std::move(pg_url),
      .tenant_refresh = tenant_refresh,
      .sends_per_destination = sends_per_destination,
      .send_window = send_window,
      .failure_lock_threshold = failure_lock_threshold,
      .send_rate_per_second = static_cast<double>(send_rate),
      .send_burst = send_burst,
      .schema_dir = std::move(schema_dir),
      .max_batch = max_batch,
  };
}

TenantSettings GeneratorConfig::env_tenant_settings() const {
  TenantSettings settings;
  settings.code_length = code_length;
  settings.ttl = code_ttl;
  settings.max_attempts = max_attempts;
  settings.sends_per_destination = sends_per_destination;
  settings.send_window = send_window;
  settings.failure_lock_threshold = failure_lock_threshold;
  settings.send_rate_per_second = send_rate_per_second;
  settings.send_burst = send_burst;
  return settings;
}

kafka::KafkaSettings GeneratorConfig::producer_settings() const {
  return kafka::with_defaults(kafka, {{"compression.type", "none"}});
}

kafka::KafkaSettings GeneratorConfig::bulk_producer_settings() const {
  return kafka::with_defaults(kafka, {{"linger.ms", "10"}});
}

}  // namespace otp::generator
