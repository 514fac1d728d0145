#pragma once

#include "common/error/error.h"
#include "common/messages/types.h"
#include "services/delivery/templates/template_store.h"

#include <chrono>
#include <string>

namespace otp::delivery {

/// Everything a message is rendered from; the delivery stage fills it from a `DeliveryJob`.
struct RenderInput {
  std::string tenant;
  messages::Channel channel = messages::Channel::kSms;
  std::string recipient;      ///< E.164 or email; the locale falls back to the phone's country
  std::string locale;         ///< DeliveryJob::locale; empty: from the recipient, else "en"
  std::string template_name;  ///< DeliveryJob::template_name; empty: "default"
  std::string sender;         ///< DeliveryJob::sender (the request's `from`): the brand shown
  std::string code;
  std::chrono::minutes expires_in{0};
  std::string app_hash;  ///< Android SMS Retriever hash (11 chars); SMS only
};

/// A message ready for a provider. Holds the code in clear (body, text): memory only.
struct RenderedMessage {
  std::string subject;  ///< email only
  std::string body;     ///< SMS/WhatsApp text; email HTML
  std::string text;     ///< email plain-text part; empty for other channels
  /// Sender id for the provider (`OutboundMessage::sender`): the template's own sender, else the
  /// tenant's default for the channel; empty = the provider's configured default.
  std::string sender;
  int segments = 0;           ///< SMS segments (GSM-7 160/153, UCS-2 70/67); 0 for email/WhatsApp
  std::string encoding;       ///< "gsm7" | "ucs2" for SMS; empty otherwise
  std::string locale;         ///< the language actually used ("pt", "en", ...)
  std::string template_name;  ///< "default" or the tenant template's name
  bool tenant_template = false;  ///< true when a tenant template was used, false for a built-in
};

/// Renders codes with tenant templates (from a `TemplateStore`) over built-in defaults.
/// Thread-safe if the store is (both provided stores are).
class Renderer {
 public:
  /// `store` must outlive the renderer. `default_brand` is OTP_BRAND.
  Renderer(const TemplateStore& store, std::string default_brand);

  /// Fails with kInvalidInput only for an input no template can express (empty code); an unknown
  /// template name or locale falls back to the built-in default and never fails.
  [[nodiscard]] Result<RenderedMessage> render(const RenderInput& input) const;

 private:
  const TemplateStore& store_;
  std::string default_brand_;
};

}  // namespace otp::delivery
