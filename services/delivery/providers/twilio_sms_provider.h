#pragma once

#include "common/config/env.h"
#include "common/http/http_client.h"
#include "services/delivery/providers/provider.h"

#include <chrono>
#include <string>

namespace otp::delivery {

/// Twilio Programmable Messaging credentials and sender. Exactly what the Messages API needs;
/// `base_url` is configurable so that tests and the dev stack can point at the fake server.
struct TwilioConfig {
  std::string base_url = "https://api.twilio.com";
  std::string account_sid;  ///< `AC...`; also the Basic-auth user name
  config::Secret auth_token;
  std::string from;                   ///< E.164 number, short code or alphanumeric sender id
  std::string messaging_service_sid;  ///< `MG...`; when set it is sent instead of `From`
  std::chrono::milliseconds timeout{10000};
};

/// SMS through Twilio: `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP
/// Basic auth (AccountSid:AuthToken) and a form body of `To`, `From` or `MessagingServiceSid`,
/// and `Body`. A 2xx reply yields the message `sid` (`SM...`) as the receipt's message id.
///
/// Error mapping (see `Provider`): 400/404 and other 4xx -> kPermanent with Twilio's numeric error
/// code (e.g. `twilio code 21211`); 401/403 -> kPermanent (credentials); 408 -> kTimeout;
/// 429 -> kRateLimited carrying the `Retry-After` seconds when given; 5xx -> kUnavailable;
/// transport errors as the `HttpClient` reports them.
///
/// Holds `http` by reference (it must outlive the provider) and inherits its thread-safety: with a
/// `CurlHttpClient`, one provider per thread. The configuration is copied.
class TwilioSmsProvider final : public Provider {
 public:
  /// Throws `std::invalid_argument` if `config` lacks the account sid, the token, or both a
  /// `from` and a `messaging_service_sid` (start-up only).
  TwilioSmsProvider(http::HttpClient& http, TwilioConfig config);

  [[nodiscard]] std::string_view name() const override { return "twilio"; }
  [[nodiscard]] Result<ProviderReceipt> send(const OutboundMessage& message) override;

 private:
  http::HttpClient& http_;
  TwilioConfig config_;
  std::string messages_url_;
};

}  // namespace otp::delivery
