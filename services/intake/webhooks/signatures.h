#pragma once

#include "services/intake/webhooks/form_body.h"

#include <string>
#include <string_view>
#include <vector>

namespace otp::intake::webhooks {

/// Provider webhook signatures. Free functions, pure and thread-safe; OpenSSL stays in the .cc.

/// Twilio's X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + every POST parameter as
/// name + value, sorted by name (then value), without separators)). `url` is the full URL
/// Twilio requested, query string included.
[[nodiscard]] std::string twilio_signature(std::string_view auth_token, std::string_view url,
                                           const std::vector<FormField>& params);

/// Whether `signature` (the header value) is Twilio's signature of the request; compared in
/// constant time.
[[nodiscard]] bool twilio_signature_valid(std::string_view auth_token, std::string_view url,
                                          const std::vector<FormField>& params,
                                          std::string_view signature);

/// Meta's X-Hub-Signature-256: `sha256=` + lowercase hex HMAC-SHA256(app_secret, raw body).
[[nodiscard]] std::string meta_signature(std::string_view app_secret, std::string_view body);

/// Whether `header` is Meta's signature of `body` (the `sha256=` prefix is required; the hex is
/// compared case-insensitively, in constant time).
[[nodiscard]] bool meta_signature_valid(std::string_view app_secret, std::string_view body,
                                        std::string_view header);

}  // namespace otp::intake::webhooks
