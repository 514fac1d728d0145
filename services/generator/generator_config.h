#pragma once

#include "common/config/env.h"
#include "common/crypto/key_ring.h"
#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/redis/redis_client.h"
#include "services/generator/tenant_settings.h"

#include <chrono>
#include <string>

namespace otp::generator {

/// Everything `otp-generator` reads at start-up (see README.md for each key). Built once by
/// `from_env`, then passed by `const&`; immutable, so safe to share between threads.
struct GeneratorConfig {
  kafka::KafkaSettings kafka;
  std::string topic_prefix = "otp.";
  /// Every generator instance of one environment shares this group (tests use their own).
  std::string consumer_group = "otp-generator";
  std::string log_level = "info";
  redis::RedisOptions redis;
  /// OTP_HMAC_KEYS: the active key computes code HMACs, recipient hashes and derived
  /// verification ids; older keys still check codes issued before a rotation.
  crypto::KeyRing hmac_keys;
  /// OTP_SEAL_KEYS: seals codes for otp-delivery and unseals codes in verify requests.
  crypto::KeyRing seal_keys;
  int code_length = 6;
  std::chrono::seconds code_ttl{600};
  int max_attempts = 5;
  /// Delivery deadline = expiry minus this margin: no code is sent that could not be typed in.
  std::chrono::milliseconds delivery_margin{10'000};
  /// Verify requests older than this are answered `unavailable` without touching Redis.
  std::chrono::milliseconds verify_max_age{15'000};
  /// OTP_VERIFICATION_RETENTION_S: how long a verification stays readable after it expired
  /// (status look-ups, replayed requests answered from it).
  std::chrono::seconds retention{24 * 3600};
  /// OTP_TENANT_SETTINGS: `postgres` reads each tenant's rules from the `tenants` table at
  /// `pg_url`; `env` (the default, for stacks without a tenants table) accepts every tenant
  /// with the OTP_CODE_LENGTH / OTP_CODE_TTL_S / OTP_MAX_ATTEMPTS values and column defaults.
  bool tenant_settings_from_pg = false;
  config::Secret pg_url;
  /// How often the tenant settings are re-read from PostgreSQL.
  std::chrono::milliseconds tenant_refresh{5'000};
  /// Limits for every tenant with OTP_TENANT_SETTINGS=env (the `tenants` columns otherwise).
  int sends_per_destination = 5;
  std::chrono::seconds send_window{600};
  int failure_lock_threshold = 100;
  double send_rate_per_second = 50;
  int send_burst = 100;
  /// OTP_SCHEMA_DIR: the JSON Schemas consumed records are validated against (schemas/).
  std::string schema_dir;
  /// OTP_GENERATOR_MAX_BATCH: records handled together (their Redis calls pipelined in two
  /// round trips) when the consumer has that many ready; 1 = one at a time.
  std::size_t max_batch = 256;

  /// Reads the process environment (or `lookup`, in tests). One kInvalidInput error lists every
  /// missing or invalid key; key material never appears in it.
  [[nodiscard]] static Result<GeneratorConfig> from_env(config::EnvReader::Lookup lookup = {});

  /// `kafka` for the producer of replies: `compression.type` none unless OTP_KAFKA_PROPERTIES
  /// sets it. Replies are on the sync path, where lz4 about doubled the p99 at 5,000 req/s
  /// (median 53.6 against 27.7 ms; docs/performance.md, "Compression on the sync path").
  [[nodiscard]] kafka::KafkaSettings producer_settings() const;

  /// `kafka` for the producer of events, delivery jobs and dead letters, which no client waits
  /// for: `linger.ms` 10 (the shared default is 2) unless OTP_KAFKA_PROPERTIES sets it, so that
  /// they travel in fewer, larger batches (docs/performance.md, "Two producers in the
  /// generator"). Compression stays the shared lz4.
  [[nodiscard]] kafka::KafkaSettings bulk_producer_settings() const;

  /// The rules every tenant gets with OTP_TENANT_SETTINGS=env: the column defaults, with code
  /// length, TTL and attempts from the environment.
  [[nodiscard]] TenantSettings env_tenant_settings() const;
};

}  // namespace otp::generator
