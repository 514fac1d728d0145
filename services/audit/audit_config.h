#pragma once

#include "common/config/env.h"
#include "common/error/error.h"
#include "common/kafka/record.h"
#include "common/messages/topics.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace otp::audit {

/// Everything otp-audit reads from the environment, built once at start-up by `from_env` and
/// passed by const reference. Each key is documented in services/audit/README.md.
struct AuditConfig {
  kafka::KafkaSettings kafka;         ///< OTP_KAFKA_BROKERS, OTP_KAFKA_PROPERTIES
  std::string topic_prefix = "otp.";  ///< OTP_TOPIC_PREFIX
  config::Secret pg_url;              ///< OTP_PG_URL (may hold a password)
  std::size_t batch_size = 1000;      ///< OTP_AUDIT_BATCH_SIZE: records per transaction, at most
  std::chrono::milliseconds batch_age{100};  ///< OTP_AUDIT_BATCH_MS: oldest record's wait, at most
  std::string log_level = "info";            ///< OTP_LOG_LEVEL
  /// OTP_AUDIT_CRASH_AFTER_COMMIT, TEST-ONLY: `_exit(137)` right after the Nth committed batch,
  /// before its offsets are stored (fault-injection tests); 0 (the default) = never.
  std::size_t crash_after_commit = 0;

  /// The consumer group: one per deployment, shared by every otp-audit instance.
  static constexpr char kConsumerGroup[] = "otp-audit";

  [[nodiscard]] messages::Topics topics() const {
    return messages::Topics::with_prefix(topic_prefix);
  }

  /// Reads the process environment (or `lookup`, in tests); one kInvalidInput error lists every
  /// missing or invalid key.
  [[nodiscard]] static Result<AuditConfig> from_env(config::EnvReader::Lookup lookup = {});
};

}  // namespace otp::audit
