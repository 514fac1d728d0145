#pragma once

// Events with fixed times for the audit suites: `at_ms` counts from kBaseMs.

#include "common/messages/messages.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace otp::audit {

inline constexpr std::int64_t kBaseMs = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

inline messages::Event make_event(const std::string& id, const std::string& type,
                                  const std::string& vid, std::int64_t at_ms,
                                  nlohmann::json data = nlohmann::json::object(),
                                  const std::string& tenant = "dev") {
  return messages::Event{.id = id,
                         .type = type,
                         .source = "otp-test",
                         .time = from_unix_ms(kBaseMs + at_ms),
                         .tenant = tenant,
                         .verification_id = vid,
                         .data = std::move(data)};
}

}  // namespace otp::audit
