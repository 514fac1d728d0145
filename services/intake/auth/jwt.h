#pragma once

#include "common/crypto/key_ring.h"
#include "common/error/error.h"
#include "common/time/clock.h"

#include <chrono>
#include <string>
#include <string_view>

namespace otp::intake::auth {

/// What an access token says: who it acts for and until when. Issued by `POST /oauth/token`.
struct AccessTokenClaims {
  std::string tenant;    ///< claim `tenant`
  std::string key_id;    ///< claim `sub`: the API key that obtained the token
  unsigned scopes = 0;   ///< claim `scope`: space-separated names (auth/scopes.h)
  TimePoint issued_at;   ///< `iat`, `nbf`
  TimePoint expires_at;  ///< `exp`
};

/// HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form) signed with the server's keys
/// (OTP_JWT_KEYS, a crypto::KeyRing): the first key signs, every key verifies, and the header's
/// `kid` names the key, so keys rotate by prepending a new one and dropping the old one after the
/// token lifetime.
///
/// Verification is strict and never trusts the header to choose an algorithm: exactly three
/// canonical base64url segments; the header a JSON object with `alg` exactly `HS256`, `kid` a
/// configured key id and `typ`, if present, `JWT`; the signature checked in constant time before
/// the payload is even parsed; `exp` and `iat` required, `nbf` optional, all integers; `iat`
/// and `nbf` may be at most `kLeeway` in the future (clock skew between instances), `exp` must
/// be in the future. Every failure is kInvalidInput with a message that never quotes the token.
///
/// Holds the key ring by reference (it must outlive this); immutable and thread-safe.
class AccessTokenCodec {
 public:
  static constexpr std::chrono::seconds kLeeway{30};
  static constexpr std::size_t kMaxTokenBytes = 4096;

  explicit AccessTokenCodec(const crypto::KeyRing& keys) : keys_(keys) {}

  /// The compact JWT for `claims`, signed with the active key. Times are truncated to seconds.
  [[nodiscard]] std::string sign(const AccessTokenClaims& claims) const;

  /// The claims of a token this codec (or one with a key of the same ring) signed, checked
  /// against `now`.
  [[nodiscard]] Result<AccessTokenClaims> verify(std::string_view token, TimePoint now) const;

  /// Whether `text` has the shape of a compact JWS (two dots): how a Bearer value is told apart
  /// from base64 `key:secret`, which has no dot.
  [[nodiscard]] static bool looks_like_jwt(std::string_view text) noexcept;

 private:
  const crypto::KeyRing& keys_;
};

/// HMAC-SHA256 of `signing_input` under `key`, base64url: a JWS HS256 signature.
[[nodiscard]] std::string hs256_signature(const crypto::Key& key, std::string_view signing_input);

}  // namespace otp::intake::auth
