#pragma once

#include "common/config/env.h"

#include <string>

namespace otp::intake::webhooks {

/// Provider webhook settings (docs/http-api.md, "Webhooks"), read with the rest of
/// IntakeConfig. A provider whose secret is empty has no webhook route (404). Immutable.
struct WebhookConfig {
  /// OTP_TWILIO_AUTH_TOKEN: the HMAC key of X-Twilio-Signature.
  config::Secret twilio_auth_token;
  /// OTP_PUBLIC_BASE_URL: scheme://host[:port][/prefix] as Twilio calls us (the signed URL is
  /// this + the request path + `?query`).
  std::string public_base_url;
  /// OTP_META_APP_SECRET: the HMAC key of X-Hub-Signature-256.
  config::Secret meta_app_secret;
  /// OTP_META_VERIFY_TOKEN: what Meta must echo in the GET subscription handshake.
  config::Secret meta_verify_token;
};

/// Reads the keys above from `env` (errors are collected by `env`): the base URL must be
/// http(s); a Meta app secret needs a verify token. The Twilio route needs both the token and
/// the base URL.
[[nodiscard]] WebhookConfig read_webhook_config(config::EnvReader& env);

}  // namespace otp::intake::webhooks
