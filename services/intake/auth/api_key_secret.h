#pragma once

#include "common/random/rng.h"

#include <string>
#include <string_view>

namespace otp::intake::auth {

/// A new API key as otpctl creates it. `secret` is shown to the operator once and never stored;
/// `secret_hash` is what goes into `api_keys.secret_hash`.
struct NewApiKey {
  std::string id;           ///< `ak_` + 24 lowercase hex (96 random bits); not secret
  std::string secret;       ///< `sk_` + base64url of 32 random bytes
  std::string secret_hash;  ///< see hash_api_secret
};

/// Draws a key id and a secret from `rng` (a CSPRNG in production) and hashes the secret.
[[nodiscard]] NewApiKey generate_api_key(Rng& rng);

/// The stored form of a secret: `hmac-sha256$<salt>$<mac>` with a random 128-bit salt (32 hex)
/// and mac = hex(HMAC-SHA256(key = salt bytes, secret)). A fast keyed hash is enough because
/// secrets are 256-bit random tokens, not passwords (docs/decisions/0006-api-key-hashing.md).
[[nodiscard]] std::string hash_api_secret(Rng& rng, std::string_view secret);

/// Whether `secret` matches `stored` (hash_api_secret's format), compared in constant time. A
/// stored value of any other format matches nothing.
[[nodiscard]] bool api_secret_matches(std::string_view stored, std::string_view secret);

/// Whether `id` has the shape generate_api_key gives ids: `ak_` + 24 lowercase hex.
[[nodiscard]] bool is_api_key_id(std::string_view id) noexcept;

}  // namespace otp::intake::auth
