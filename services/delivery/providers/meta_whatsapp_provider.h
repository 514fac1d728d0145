#pragma once

#include "common/config/env.h"
#include "services/delivery/providers/provider.h"

#include <chrono>
#include <map>
#include <string>

namespace otp::delivery {

struct MetaWhatsAppConfig {
  std::string base_url = "https://graph.facebook.com";
  std::string api_version = "v21.0";
  std::string phone_number_id;  ///< the business phone number's id (not the number)
  config::Secret access_token;  ///< system-user token with whatsapp_business_messaging
  /// The approved authentication template (copy-code button). Its code expiration minutes
  /// (footer `code_expiration_minutes`) and message TTL (`message_send_ttl_seconds`, at most the
  /// code's TTL) are set when the template is created, not per message.
  std::string template_name = "otp_code";
  /// Our locale -> the template's language code; a locale not listed uses `default_language`.
  std::map<std::string, std::string> languages = {{"en", "en_US"}, {"es", "es"}, {"pt", "pt_BR"},
                                                  {"fr", "fr"},    {"de", "de"}, {"hi", "hi"}};
  std::string default_language = "en_US";
  std::chrono::milliseconds timeout{10000};
};

/// WhatsApp through Meta's Cloud API with an authentication template:
/// `POST {base_url}/{api_version}/{phone_number_id}/messages`, `Authorization: Bearer <token>`,
/// body `{"messaging_product":"whatsapp","recipient_type":"individual","to":"<E.164>",
/// "type":"template","template":{"name":..., "language":{"code":...},"components":[
/// {"type":"body","parameters":[{"type":"text","text":"<code>"}]},
/// {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"<code>"}]}]}}`
/// (the copy-code button is a `url` button at index 0 whose parameter is the code). The reply's
/// `messages[0].id` (`wamid...`) is the receipt's message id.
///
/// Errors: Graph API `{"error":{"code":..,"error_subcode":..}}`, classified by code first:
/// 4, 80007, 130429, 131048, 131056 (rate limits) -> kRateLimited; 1, 2, 131000, 131016, 131057,
/// 133004 (temporary) -> kUnavailable; 0, 3, 10, 190, 200-299 (auth, permissions) -> kPermanent
/// ("rejected credentials"); any other code (131026 undeliverable, 131030 not allowed,
/// 132000/132001 template, 100 invalid parameter, ...) -> kPermanent. Without a Graph error the
/// status goes through `classify_http_status`. Errors carry `meta code <n>`, never the message.
class MetaWhatsAppProvider final : public HttpProvider {
 public:
  /// Throws `std::invalid_argument` without a phone number id, a token or a template name.
  MetaWhatsAppProvider(http::HttpClient* http, MetaWhatsAppConfig config);

  [[nodiscard]] std::string_view name() const override { return "meta"; }
  [[nodiscard]] std::string_view channel() const override { return "whatsapp"; }
  [[nodiscard]] Result<http::HttpRequest> build_request(
      const OutboundMessage& message) const override;
  [[nodiscard]] Result<ProviderReceipt> interpret(const http::HttpResponse& response,
                                                  std::chrono::milliseconds elapsed) const override;

  /// The template language code for `locale` ("pt-BR" -> "pt_BR", "pt" -> config's "pt").
  [[nodiscard]] std::string language_for(const std::string& locale) const;

 private:
  MetaWhatsAppConfig config_;
  std::string url_;
};

}  // namespace otp::delivery
