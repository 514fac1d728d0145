#pragma once

#include "common/kafka/record.h"

#include <optional>
#include <string>

namespace otp::test {

/// The value librdkafka ends up with for `key`: `make_conf` applies the properties in order, so
/// the last one wins; nullopt when `settings` does not set it (the client's built-in default).
inline std::optional<std::string> effective_property(const kafka::KafkaSettings& settings,
                                                     const std::string& key) {
  std::optional<std::string> value;
  for (const auto& [name, setting] : settings.properties) {
    if (name == key) value = setting;
  }
  return value;
}

}  // namespace otp::test
