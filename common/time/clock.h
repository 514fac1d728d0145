#pragma once

#include "common/error/error.h"

#include <chrono>
#include <string>
#include <string_view>

namespace otp {

using TimePoint = std::chrono::system_clock::time_point;

/// Wall-clock time, injected so that logic can be tested with a fake. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// RFC 3339 in UTC with millisecond precision: `2026-11-21T21:30:00.123Z`.
[[nodiscard]] std::string format_rfc3339(TimePoint time);
/// Parses what format_rfc3339 writes, and also whole seconds and `+00:00` offsets.
[[nodiscard]] Result<TimePoint> parse_rfc3339(std::string_view text);

/// Milliseconds since the Unix epoch.
[[nodiscard]] inline std::int64_t to_unix_ms(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}
[[nodiscard]] inline TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

}  // namespace otp
