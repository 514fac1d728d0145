#include "common/time/clock.h"

#include <chrono>
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
  // Strict shape: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00), every field at its fixed width.
  auto digits = [&](std::size_t at, std::size_t count) -> int {
    if (text.size() < at + count) return -1;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto is = [&](std::size_t at, char c) { return text.size() > at && text[at] == c; };
  int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  int hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || !is(4, '-') ||
      !is(7, '-') || !(is(10, 'T') || is(10, 't')) || !is(13, ':') || !is(16, ':')) {
    return fail(Errc::kInvalidInput, "not an RFC 3339 time");
  }
  std::string_view rest = text.substr(19);
  int millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int count = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (count < 3) millis = millis * 10 + (rest.front() - '0');
      ++count;
      rest.remove_prefix(1);
    }
    if (count == 0) return fail(Errc::kInvalidInput, "not an RFC 3339 time");
    for (; count < 3; ++count) millis *= 10;
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00") {
    return fail(Errc::kInvalidInput, "RFC 3339 time must be in UTC");
  }
  // The range keeps every value representable in system_clock's nanoseconds (1677..2262).
  std::chrono::year_month_day date{std::chrono::year(year),
                                   std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (year < 1970 || year > 2200 || !date.ok() || hour > 23 || minute > 59 || second > 59) {
    return fail(Errc::kInvalidInput, "RFC 3339 time out of range");
  }
  auto days = std::chrono::sys_days(date).time_since_epoch().count();
  std::int64_t ms = ((static_cast<std::int64_t>(days) * 24 + hour) * 60 + minute) * 60 + second;
  return from_unix_ms(ms * 1000 + millis);
}

}  // namespace otp
