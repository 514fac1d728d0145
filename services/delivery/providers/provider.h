#pragma once

#include "common/error/error.h"
#include "common/http/http_client.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace otp::delivery {

/// One rendered message, ready for a provider. `body`, `text` and `code` hold the code in clear:
/// they must never be logged or copied into an error message.
struct OutboundMessage {
  std::string tenant;
  std::string verification_id;
  std::string job_id;
  std::string channel;  ///< "sms" | "email" | "whatsapp"
  std::string to;       ///< E.164 phone number or email address
  std::string body;     ///< SMS/WhatsApp text; for email the HTML part
  std::string subject;  ///< email only
  std::string text;     ///< email only: the plain-text alternative (empty: none is sent)
  /// The tenant's sender id for this channel (SMS `from` number or alphanumeric id, an email
  /// `From` such as `Acme <no-reply@acme.example>`); empty: the provider's configured default.
  std::string sender;
  /// The code itself, for providers whose wire format carries it as a parameter (WhatsApp
  /// authentication templates) rather than inside `body`.
  std::string code;
  std::string locale;  ///< BCP 47 language the message was rendered in ("en", "pt", ...)
  std::chrono::minutes expires_in{0};  ///< time left on the code when rendered
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
/// - `Errc::kRateLimited`: HTTP 429 or the provider's own throttling code. If the provider said
///   when to come back, the error carries it; read it with `retry_after(error)`.
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

/// The seam for the delivery engine: an HTTP provider as two pure, const, thread-safe halves, so
/// that the engine can run many requests through one curl multi handle:
///
///   auto request = provider.build_request(message);          // kPermanent: cannot be sent
///   ... the engine performs *request (any HttpClient, curl multi, ...) ...
///   auto receipt = provider.interpret(response, elapsed);    // classified as for `Provider`
///
/// Neither half does I/O or keeps state, so one instance may serve every thread. `send()` is the
/// synchronous adapter (`interpret(http.send(build_request(m)))`) over the `HttpClient` given at
/// construction, for callers that have not moved to the engine; it prefixes errors with
/// `job <job_id>: ` and maps transport failures as the `HttpClient` reports them.
class HttpProvider : public Provider {
 public:
  /// `http` may be null when only the halves are used (then `send()` fails with kInternal); if
  /// set it must outlive the provider.
  explicit HttpProvider(http::HttpClient* http) : http_(http) {}

  [[nodiscard]] virtual std::string_view channel() const = 0;  ///< "sms" | "email" | "whatsapp"

  /// The complete request (URL, headers, credentials, body, timeout) for `message`. Fails with
  /// kPermanent when the message cannot be expressed for this API (e.g. a recipient it cannot
  /// address, a missing sender).
  [[nodiscard]] virtual Result<http::HttpRequest> build_request(
      const OutboundMessage& message) const = 0;

  /// What the provider's reply means: a receipt (latency = `elapsed`) or a classified error.
  [[nodiscard]] virtual Result<ProviderReceipt> interpret(
      const http::HttpResponse& response, std::chrono::milliseconds elapsed) const = 0;

  [[nodiscard]] Result<ProviderReceipt> send(const OutboundMessage& message) final;

 protected:
  void set_http(http::HttpClient* http) { http_ = http; }

 private:
  http::HttpClient* http_;
};

/// `job <job_id>: <message>`, keeping the code (and so a retry_after token at the end).
[[nodiscard]] Error with_job(const Error& error, std::string_view job_id);

/// The one classification of HTTP statuses shared by the HTTP providers: 401/403 -> kPermanent
/// ("rejected credentials"), 408 -> kTimeout, 429 -> kRateLimited with `Retry-After` seconds,
/// other 4xx -> kPermanent, anything else (5xx, 1xx/3xx) -> kUnavailable. `detail` is the
/// provider's own error code, already free of recipient and body (e.g. `twilio code 21211`).
[[nodiscard]] Error classify_http_status(std::string_view provider,
                                         const http::HttpResponse& response,
                                         std::string_view detail);

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
