#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/kafka/record.h"
#include "services/intake/compat/compat_config.h"
#include "services/intake/webhooks/webhook_config.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace otp::intake {

/// Everything otp-intake reads from its environment, validated once at start-up. Every key is
/// documented in services/intake/README.md. Passed by const reference; never changes.
struct IntakeConfig {
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  int http_threads = 2;
  std::size_t max_body_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds reply_timeout{3000};
  /// This process's partition of the replies topic; unique per running intake.
  std::int32_t instance = 0;

  kafka::KafkaSettings kafka;
  std::string topic_prefix = "otp.";
  /// `id:base64[,id:base64...]`, checked to parse as a crypto::KeyRing.
  config::Secret seal_keys;

  std::string dev_tenant = "dev";
  std::string dev_api_key;
  config::Secret dev_api_secret;

  std::string log_level = "info";

  // --- HTTP API (api): CORS ---
  /// OTP_CORS_ORIGINS: exact browser origins (`https://app.example.com`, comma-separated) that
  /// get CORS headers; empty = none.
  std::vector<std::string> cors_origins;

  // --- compat: seed routes and provider webhooks (services/intake/README.md) ---
  /// OTP_COMPAT_*: the seed-000/002 routes (compat/compat_config.h).
  compat::CompatConfig compat;
  /// OTP_TWILIO_AUTH_TOKEN, OTP_PUBLIC_BASE_URL, OTP_META_*: webhooks/webhook_config.h.
  webhooks::WebhookConfig webhooks;

  // --- auth: database keys and access tokens (services/intake/README.md, Authentication) ---
  /// OTP_PG_URL: where API keys live; empty = only the dev key authenticates.
  config::Secret pg_url;
  /// OTP_AUTH_REFRESH_MS: how often the key set is reloaded (revocation delay).
  std::chrono::milliseconds auth_refresh{2000};
  /// OTP_JWT_KEYS: `kid:base64[,kid:base64...]` (32-byte keys, first signs); empty = no
  /// `POST /oauth/token` and no JWT Bearer tokens.
  config::Secret jwt_keys;
  /// OTP_JWT_TTL_SECONDS: lifetime of an access token.
  std::chrono::seconds jwt_ttl{900};

  // --- audit: management endpoints (services/intake/README.md, Management endpoints) ---
  /// OTP_MGMT_THREADS: query threads (each with its own connection to OTP_PG_URL).
  int mgmt_threads = 2;
  /// OTP_MGMT_STATEMENT_TIMEOUT_MS: server-side limit per management query.
  std::chrono::milliseconds mgmt_statement_timeout{2000};
  /// OTP_HMAC_KEYS: the generator's HMAC key ring (same value); its active key hashes the
  /// `recipient` filter and signs page cursors. Empty = no recipient filter, and cursors signed
  /// with a per-process random key (valid only on this instance until it restarts).
  config::Secret hmac_keys;

  /// Reads the `OTP_*` variables through `lookup` (the process environment by default) and
  /// reports every missing or invalid key in one kInvalidInput error.
  [[nodiscard]] static Result<IntakeConfig> from_env(config::EnvReader::Lookup lookup = {});

  /// `linger.ms` of the request producer unless OTP_KAFKA_PROPERTIES sets it.
  static constexpr int kRequestLingerMs = 5;

  /// `kafka` for the request producer: `message.timeout.ms` defaults to the reply timeout, so
  /// that librdkafka gives up on a request by the time the client was told 503, and `linger.ms`
  /// to kRequestLingerMs (fewer, larger produce requests), and `compression.type` to none (lz4 on
  /// the sync path about doubled its p99 at 5,000 req/s); an explicit OTP_KAFKA_PROPERTIES value
  /// of any of them still wins.
  [[nodiscard]] kafka::KafkaSettings producer_settings() const;
};

}  // namespace otp::intake
