#pragma once

#include "common/config/env.h"
#include "common/crypto/key_ring.h"
#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/redis/redis_client.h"

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
  /// How long a verification stays readable after it expired (not configurable yet).
  std::chrono::seconds retention{24 * 3600};

  /// Reads the process environment (or `lookup`, in tests). One kInvalidInput error lists every
  /// missing or invalid key; key material never appears in it.
  [[nodiscard]] static Result<GeneratorConfig> from_env(config::EnvReader::Lookup lookup = {});
};

}  // namespace otp::generator
