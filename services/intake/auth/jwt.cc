#include "services/intake/auth/jwt.h"

#include "common/crypto/base64.h"
#include "common/crypto/hmac.h"
#include "services/intake/auth/scopes.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

namespace otp::intake::auth {
namespace {

using nlohmann::json;

constexpr std::string_view kIssuer = "otp-intake";

tl::unexpected<Error> invalid(std::string reason) {
  return fail(Errc::kInvalidInput, "invalid access token: " + std::move(reason));
}

std::int64_t unix_seconds(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

// An integer NumericDate claim, or nullopt when absent or of any other type (floats included:
// we issue whole seconds).
std::optional<std::int64_t> integer_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<std::int64_t>();
  if (it->is_number_unsigned() && it->get<std::uint64_t>() <= INT64_MAX)
    return static_cast<std::int64_t>(it->get<std::uint64_t>());
  return std::nullopt;
}

std::optional<std::string> string_claim(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::string hs256_signature(const crypto::Key& key, std::string_view signing_input) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.bytes.data(), static_cast<int>(key.bytes.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
       mac.data(), &length);
  return crypto::base64url_encode(std::span<const std::uint8_t>(mac.data(), length));
}

bool AccessTokenCodec::looks_like_jwt(std::string_view text) noexcept {
  return std::count(text.begin(), text.end(), '.') == 2;
}

std::string AccessTokenCodec::sign(const AccessTokenClaims& claims) const {
  const crypto::Key& key = keys_.active();
  json header = json::object();
  header["alg"] = "HS256";
  header["typ"] = "JWT";
  header["kid"] = key.id;
  json payload = json::object();
  payload["iss"] = kIssuer;
  payload["sub"] = claims.key_id;
  payload["tenant"] = claims.tenant;
  payload["scope"] = format_scopes(claims.scopes, ' ');
  payload["iat"] = unix_seconds(claims.issued_at);
  payload["nbf"] = unix_seconds(claims.issued_at);
  payload["exp"] = unix_seconds(claims.expires_at);
  std::string input =
      crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(payload.dump());
  std::string signature = hs256_signature(key, input);
  return input + "." + signature;
}

Result<AccessTokenClaims> AccessTokenCodec::verify(std::string_view token, TimePoint now) const {
  if (token.size() > kMaxTokenBytes) return invalid("too long");
  const auto first_dot = token.find('.');
  const auto second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return invalid("not three segments");
  }
  const std::string_view header_b64 = token.substr(0, first_dot);
  const std::string_view payload_b64 = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_b64 = token.substr(second_dot + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty())
    return invalid("empty segment");

  auto header_text = crypto::base64url_decode(header_b64);
  if (!header_text) return invalid("header is not base64url");
  const json header = json::parse(*header_text, nullptr, false);
  if (!header.is_object()) return invalid("header is not a JSON object");
  // The algorithm is fixed by the server, never chosen by the token: `none`, RS256 (with an
  // HMAC key confusion), HS384/HS512 and everything else are refused.
  if (string_claim(header, "alg") != std::optional<std::string>("HS256"))
    return invalid("algorithm must be HS256");
  if (header.contains("typ") && string_claim(header, "typ") != std::optional<std::string>("JWT"))
    return invalid("typ must be JWT");
  if (header.contains("crit")) return invalid("critical header parameters are not supported");
  const auto kid = string_claim(header, "kid");
  if (!kid) return invalid("kid is required");
  const crypto::Key* key = keys_.find(*kid);
  if (key == nullptr) return invalid("unknown kid");

  const std::string expected = hs256_signature(*key, token.substr(0, second_dot));
  if (!crypto::constant_time_equal(expected, signature_b64)) return invalid("bad signature");

  auto payload_text = crypto::base64url_decode(payload_b64);
  if (!payload_text) return invalid("payload is not base64url");
  const json payload = json::parse(*payload_text, nullptr, false);
  if (!payload.is_object()) return invalid("payload is not a JSON object");

  const auto exp = integer_claim(payload, "exp");
  const auto iat = integer_claim(payload, "iat");
  if (!exp) return invalid("exp is required (integer)");
  if (!iat) return invalid("iat is required (integer)");
  std::optional<std::int64_t> nbf;
  if (payload.contains("nbf")) {
    nbf = integer_claim(payload, "nbf");
    if (!nbf) return invalid("nbf must be an integer");
  }
  const std::int64_t now_s = unix_seconds(now);
  const std::int64_t leeway = kLeeway.count();
  if (now_s >= *exp) return invalid("expired");
  if (*iat > now_s + leeway) return invalid("issued in the future");
  if (nbf && *nbf > now_s + leeway) return invalid("not valid yet");
  if (string_claim(payload, "iss") != std::optional<std::string>(std::string(kIssuer)))
    return invalid("unknown issuer");

  AccessTokenClaims claims;
  auto sub = string_claim(payload, "sub");
  auto tenant = string_claim(payload, "tenant");
  auto scope = string_claim(payload, "scope");
  if (!sub || sub->empty()) return invalid("sub is required");
  if (!tenant || tenant->empty()) return invalid("tenant is required");
  if (!scope) return invalid("scope is required");
  auto scopes = parse_scopes(*scope, ' ');
  if (!scopes) return invalid("unknown scope");
  claims.key_id = std::move(*sub);
  claims.tenant = std::move(*tenant);
  claims.scopes = *scopes;
  claims.issued_at = TimePoint(std::chrono::seconds(*iat));
  claims.expires_at = TimePoint(std::chrono::seconds(*exp));
  return claims;
}

}  // namespace otp::intake::auth
