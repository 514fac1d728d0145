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
  /// WhatsApp through the same Messages API: `To`/`From` become `whatsapp:+E164`.
  bool whatsapp = false;
  /// WhatsApp only: an approved Content API template (`HX...`, e.g. `whatsapp/authentication`).
  /// When set the request carries `ContentSid` and `ContentVariables={"1":"<code>"}` instead of
  /// `Body` (business-initiated WhatsApp messages must use an approved template).
  std::string content_sid;
};

/// SMS (or WhatsApp) through Twilio: `POST
/// {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth
/// (AccountSid:AuthToken) and a form body of `To`, `From` or `MessagingServiceSid`, and `Body` (or
/// `ContentSid` + `ContentVariables`). A 2xx reply yields the message `sid` (`SM...`/`MM...`) as
/// the receipt's message id. The message's `sender` (the tenant's sender id), when set, is sent as
/// `From` instead of the configured sender.
///
/// Error mapping (`classify_http_status`): 400/404 and other 4xx -> kPermanent with Twilio's
/// numeric error code (e.g. `twilio code 21211`); 401/403 -> kPermanent (credentials);
/// 408 -> kTimeout; 429 -> kRateLimited carrying `Retry-After`; 5xx -> kUnavailable.
///
/// The halves are pure; `send()` uses `http` (which must outlive the provider and is not
/// thread-safe: one provider per thread for synchronous use).
class TwilioProvider final : public HttpProvider {
 public:
  /// Throws `std::invalid_argument` if `config` lacks the account sid, the token, or both a
  /// `from` and a `messaging_service_sid` (start-up only).
  TwilioProvider(http::HttpClient& http, TwilioConfig config);
  explicit TwilioProvider(TwilioConfig config);  ///< halves only

  [[nodiscard]] std::string_view name() const override {
    return config_.whatsapp ? "twilio-whatsapp" : "twilio";
  }
  [[nodiscard]] std::string_view channel() const override {
    return config_.whatsapp ? "whatsapp" : "sms";
  }
  [[nodiscard]] Result<http::HttpRequest> build_request(
      const OutboundMessage& message) const override;
  [[nodiscard]] Result<ProviderReceipt> interpret(const http::HttpResponse& response,
                                                  std::chrono::milliseconds elapsed) const override;

 private:
  TwilioConfig config_;
  std::string messages_url_;
};

using TwilioSmsProvider = TwilioProvider;
using TwilioWhatsAppProvider = TwilioProvider;

}  // namespace otp::delivery
