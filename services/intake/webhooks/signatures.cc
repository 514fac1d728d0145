#include "services/intake/webhooks/signatures.h"

#include "common/crypto/base64.h"
#include "common/crypto/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace otp::intake::webhooks {

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const std::vector<FormField>& params) {
  std::vector<FormField> sorted = params;
  std::sort(sorted.begin(), sorted.end());
  std::string data(url);
  for (const auto& [name, value] : sorted) {
    data += name;
    data += value;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &length);
  return crypto::base64_encode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

bool twilio_signature_valid(std::string_view auth_token, std::string_view url,
                            const std::vector<FormField>& params, std::string_view signature) {
  if (auth_token.empty() || signature.empty()) return false;
  return crypto::constant_time_equal(twilio_signature(auth_token, url, params), signature);
}

std::string meta_signature(std::string_view app_secret, std::string_view body) {
  const auto* key = reinterpret_cast<const std::uint8_t*>(app_secret.data());
  return "sha256=" + crypto::hmac_sha256_hex(std::span(key, app_secret.size()), body);
}

bool meta_signature_valid(std::string_view app_secret, std::string_view body,
                          std::string_view header) {
  if (app_secret.empty()) return false;
  std::string given(header);
  std::transform(given.begin(), given.end(), given.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return crypto::constant_time_equal(meta_signature(app_secret, body), given);
}

}  // namespace otp::intake::webhooks
