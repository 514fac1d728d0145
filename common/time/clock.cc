#include "common/time/clock.h"

#include <cstdio>
#include <ctime>

namespace otp {

std::string format_rfc3339(TimePoint time) {
  auto ms = to_unix_ms(time);
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

Result<TimePoint> parse_rfc3339(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return fail(Errc::kInvalidInput, "not an RFC 3339 time");
  }
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  int millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (digits < 3) millis = millis * 10 + (rest.front() - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) return fail(Errc::kInvalidInput, "not an RFC 3339 time");
    for (; digits < 3; ++digits) millis *= 10;
  }
  if (rest != "Z" && rest != "+00:00") {
    return fail(Errc::kInvalidInput, "RFC 3339 time must be in UTC");
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return fail(Errc::kInvalidInput, "RFC 3339 time out of range");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  auto seconds = timegm(&tm);
  return from_unix_ms(static_cast<std::int64_t>(seconds) * 1000 + millis);
}

}  // namespace otp
