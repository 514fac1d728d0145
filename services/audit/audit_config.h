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

  /// OTP_CONSUMER_GROUP: one per deployment, shared by every otp-audit instance. Side-by-side
  /// environments on one cluster (and tests) use their own, or their rebalances stall each other.
  std::string consumer_group = "otp-audit";

  /// The event consumer's librdkafka settings: `kafka` with a bounded prefetch
  /// (`queued.max.messages.kbytes` 2048, `max.partition.fetch.bytes` 1 MiB) unless
  /// OTP_KAFKA_PROPERTIES sets them. librdkafka prefetches up to 64 MiB by default, and its real
  /// memory is several times what that setting counts: behind an 80,000-event backlog otp-audit
  /// peaked at 64 MiB with 8192, 34 MiB with 2048, draining it equally fast (8,900 and 8,700
  /// events/s including start-up, docs/performance.md).
  [[nodiscard]] kafka::KafkaSettings consumer_settings() const;

  [[nodiscard]] messages::Topics topics() const {
    return messages::Topics::with_prefix(topic_prefix);
  }

  /// Reads the process environment (or `lookup`, in tests); one kInvalidInput error lists every
  /// missing or invalid key.
  [[nodiscard]] static Result<AuditConfig> from_env(config::EnvReader::Lookup lookup = {});
};

}  // namespace otp::audit
