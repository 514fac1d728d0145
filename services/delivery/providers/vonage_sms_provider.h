#pragma once

#include "common/config/env.h"
#include "services/delivery/providers/provider.h"

#include <chrono>
#include <string>

namespace otp::delivery {

struct VonageConfig {
  std::string base_url = "https://rest.nexmo.com";
  std::string api_key;
  config::Secret api_secret;
  std::string from;  ///< default sender: a number (E.164, `+` optional) or an alphanumeric id
  std::chrono::milliseconds timeout{10000};
};

/// SMS through the Vonage SMS API: `POST {base_url}/sms/json`, form body `api_key`, `api_secret`,
/// `from` (the message's `sender`, else the configured one; a number loses its `+`), `to` (E.164
/// without `+`), `text`, `type=unicode` when the text needs UCS-2, and `client-ref` = job id.
///
/// Vonage answers HTTP 200 even for refusals: each part in `messages[]` has a `status` string,
/// "0" = accepted. The receipt's message id is the first part's `message-id`. Status mapping
/// (developer.vonage.com/en/api-errors/sms): 1 Throttled -> kRateLimited; 5 Internal Error and
/// 10 Too Many Existing Binds -> kUnavailable; every other code (2 missing/3 invalid parameters,
/// 4 invalid credentials, 6 invalid message, 7 number barred, 8 account barred, 9 out of credit,
/// 11, 12, 14, 15 invalid sender, 22, 23, 29 non-whitelisted destination, 32, 33) -> kPermanent
/// (the engine fails over). Non-200 statuses go through `classify_http_status`. Errors carry
/// `vonage status <n>`, never `error-text` (it may quote the number).
class VonageSmsProvider final : public HttpProvider {
 public:
  /// Throws `std::invalid_argument` without an api key, a secret or a `from`.
  VonageSmsProvider(http::HttpClient* http, VonageConfig config);

  [[nodiscard]] std::string_view name() const override { return "vonage"; }
  [[nodiscard]] std::string_view channel() const override { return "sms"; }
  [[nodiscard]] Result<http::HttpRequest> build_request(
      const OutboundMessage& message) const override;
  [[nodiscard]] Result<ProviderReceipt> interpret(const http::HttpResponse& response,
                                                  std::chrono::milliseconds elapsed) const override;

 private:
  VonageConfig config_;
  std::string url_;
};

}  // namespace otp::delivery
