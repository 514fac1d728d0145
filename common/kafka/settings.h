#pragma once

#include "common/config/env.h"
#include "common/kafka/record.h"

#include <string>

namespace otp::kafka {

/// Reads `OTP_KAFKA_BROKERS` (required) and `OTP_KAFKA_PROPERTIES` (optional extra librdkafka
/// properties, `key=value;key=value`), reporting problems through `env`.
[[nodiscard]] KafkaSettings settings_from_env(config::EnvReader& env, std::string client_id);

}  // namespace otp::kafka
