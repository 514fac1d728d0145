#include "services/delivery/providers/provider.h"

#include <charconv>
#include <cstdint>

namespace otp::delivery {
namespace {

constexpr std::string_view kRetryAfterToken = " retry_after=";

std::optional<std::chrono::seconds> parse_seconds(std::string_view digits) {
  std::int64_t seconds = 0;
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, seconds);
  if (ec != std::errc{} || ptr != end || seconds < 0 || digits.empty()) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace

Error rate_limited_error(std::string message, std::optional<std::chrono::seconds> retry_after) {
  if (retry_after) {
    message += kRetryAfterToken;
    message += std::to_string(retry_after->count());
    message += 's';
  }
  return Error{Errc::kRateLimited, std::move(message)};
}

std::optional<std::chrono::seconds> retry_after(const Error& error) {
  if (error.code != Errc::kRateLimited) return std::nullopt;
  const std::string_view message = error.message;
  const auto token = message.rfind(kRetryAfterToken);
  if (token == std::string_view::npos || !message.ends_with('s')) return std::nullopt;
  const auto digits_start = token + kRetryAfterToken.size();
  return parse_seconds(message.substr(digits_start, message.size() - 1 - digits_start));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return parse_seconds(value);
}

}  // namespace otp::delivery
