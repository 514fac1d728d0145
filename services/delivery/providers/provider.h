#pragma once

#include "common/error/error.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace otp::delivery {

/// One rendered message, ready for a provider. `body` holds the code in clear: it must never be
/// logged or copied into an error message.
struct OutboundMessage {
  std::string tenant;
  std::string verification_id;
  std::string job_id;
  std::string channel;  ///< "sms" | "email" | "whatsapp"
  std::string to;       ///< E.164 phone number or email address
  std::string body;
  std::string subject;  ///< email only
};

/// What a provider accepted: its own id for the message, and how long the API call took.
struct ProviderReceipt {
  std::string provider;
  std::string message_id;
  std::chrono::milliseconds latency{};
};

/// One provider API for one channel. `send()` is synchronous. Failures:
/// - `Errc::kPermanent`: a refusal that retrying cannot fix (HTTP 4xx other than 408/429, bad
///   credentials, invalid recipient); the caller moves on to the next provider or channel.
/// - `Errc::kRateLimited`: HTTP 429. If the provider said when to come back, the error carries it;
///   read it with `retry_after(error)`.
/// - `Errc::kUnavailable` / `Errc::kTimeout`: 5xx or transport failure; retry with backoff.
/// Error messages name the provider, the HTTP status and the provider's own error code, never
/// the body, the recipient or a credential.
///
/// Implementations document their own thread-safety: HTTP-backed ones are bound to one
/// `HttpClient`, which is not thread-safe, so the delivery service keeps one per worker thread.
class Provider {
 public:
  virtual ~Provider() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual Result<ProviderReceipt> send(const OutboundMessage& message) = 0;
};

/// Retry-After travels inside the `Error` because errors cross modules as plain `otp::Error`
/// values (through failover wrappers and the stage runner) and a side channel such as a
/// `last_retry_after()` accessor would be lost or raced on the way. The message ends with a
/// stable ` retry_after=<seconds>s` token, written and read only by these two functions.
[[nodiscard]] Error rate_limited_error(std::string message,
                                       std::optional<std::chrono::seconds> retry_after);

/// The delay a provider asked for, if `error` is a `kRateLimited` error that carries one.
[[nodiscard]] std::optional<std::chrono::seconds> retry_after(const Error& error);

/// Parses an HTTP `Retry-After` value given as delta-seconds (`"30"`). The HTTP-date form is not
/// used by our providers and yields nullopt, as does anything malformed or negative.
[[nodiscard]] std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

}  // namespace otp::delivery
