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

Result<ProviderReceipt> HttpProvider::send(const OutboundMessage& message) {
  if (http_ == nullptr) {
    return fail(Errc::kInternal, std::string(name()) + ": no HttpClient for synchronous send");
  }
  auto request = build_request(message);
  if (!request) return tl::unexpected(with_job(request.error(), message.job_id));
  auto response = http_->send(*request);
  if (!response) {
    return fail(response.error().code, "job " + message.job_id + ": " + std::string(name()) + " " +
                                           response.error().message);
  }
  auto receipt = interpret(*response, response->elapsed);
  if (!receipt) return tl::unexpected(with_job(receipt.error(), message.job_id));
  return receipt;
}

Error with_job(const Error& error, std::string_view job_id) {
  return Error{error.code, "job " + std::string(job_id) + ": " + error.message};
}

Error classify_http_status(std::string_view provider, const http::HttpResponse& response,
                           std::string_view detail) {
  const long status = response.status;
  std::string what = std::string(provider) + " http " + std::to_string(status);
  if (!detail.empty()) {
    what += ' ';
    what += detail;
  }
  const std::string name(provider);
  if (status == 401 || status == 403) {
    return Error{Errc::kPermanent, name + " rejected credentials: " + what};
  }
  if (status == 408) return Error{Errc::kTimeout, name + " request timeout: " + what};
  if (status == 429) {
    const auto header = response.header("Retry-After");
    return rate_limited_error(name + " rate limited: " + what,
                              header ? parse_retry_after(*header) : std::nullopt);
  }
  if (status >= 400 && status < 500) {
    return Error{Errc::kPermanent, name + " refused message: " + what};
  }
  return Error{Errc::kUnavailable, name + " unavailable: " + what};
}

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
