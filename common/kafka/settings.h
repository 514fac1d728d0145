#pragma once

#include "common/config/env.h"
#include "common/kafka/record.h"

#include <string>
#include <utility>
#include <vector>

namespace otp::kafka {

/// Reads `OTP_KAFKA_BROKERS` (required) and `OTP_KAFKA_PROPERTIES` (optional extra librdkafka
/// properties, `key=value;key=value`), reporting problems through `env`.
[[nodiscard]] KafkaSettings settings_from_env(config::EnvReader& env, std::string client_id);

/// `settings` with `defaults` placed before its own properties, so that a process's defaults
/// (e.g. a bounded consumer prefetch) apply unless OTP_KAFKA_PROPERTIES sets the same key.
[[nodiscard]] KafkaSettings with_defaults(
    KafkaSettings settings, std::vector<std::pair<std::string, std::string>> defaults);

}  // namespace otp::kafka
