#pragma once

#include "common/config/env.h"
#include "services/delivery/providers/provider.h"

#include <chrono>
#include <string>

namespace otp::delivery {

struct ResendConfig {
  std::string base_url = "https://api.resend.com";
  config::Secret api_key;  ///< `re_...`
  std::string from;        ///< default sender, e.g. `Acme <no-reply@acme.example>`
  std::chrono::milliseconds timeout{10000};
};

/// Email through Resend: `POST {base_url}/emails` with `Authorization: Bearer <key>`,
/// `Idempotency-Key: <job id>` (a retried job is not sent twice) and a JSON body
/// `{"from", "to": [recipient], "subject", "html", "text"}` (`from` = the message's sender, else
/// the configured one; `text` only when the message has a plain part). The reply `{"id": ...}`
/// is the receipt's message id.
///
/// Errors (resend.com/docs/api-reference/errors; body `{"statusCode","name","message"}`): the
/// status through `classify_http_status` with `resend <name>` as detail, except 429
/// `daily_quota_exceeded` / `monthly_quota_exceeded` -> kPermanent (waiting seconds cannot fix
/// an exhausted quota: fail over), and 409 `concurrent_idempotent_requests` -> kUnavailable.
class ResendEmailProvider final : public HttpProvider {
 public:
  /// Throws `std::invalid_argument` without an api key or a from address.
  ResendEmailProvider(http::HttpClient* http, ResendConfig config);

  [[nodiscard]] std::string_view name() const override { return "resend"; }
  [[nodiscard]] std::string_view channel() const override { return "email"; }
  [[nodiscard]] Result<http::HttpRequest> build_request(
      const OutboundMessage& message) const override;
  [[nodiscard]] Result<ProviderReceipt> interpret(const http::HttpResponse& response,
                                                  std::chrono::milliseconds elapsed) const override;

 private:
  ResendConfig config_;
  std::string url_;
};

}  // namespace otp::delivery
