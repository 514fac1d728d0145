#include "services/intake/authenticator.h"

#include "common/crypto/base64.h"
#include "common/crypto/hmac.h"
#include "services/intake/auth/api_key_cache.h"
#include "services/intake/auth/api_key_secret.h"
#include "services/intake/auth/jwt.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <span>

namespace otp::intake {
namespace {

// A fixed, public HMAC key: the digest only serves to give both sides of the comparison the same
// length, it protects nothing by itself.
constexpr std::string_view kDigestLabel = "otp-intake/api-secret";

std::string digest(std::string_view secret) {
  const std::span<const std::uint8_t> key(
      reinterpret_cast<const std::uint8_t*>(kDigestLabel.data()), kDigestLabel.size());
  return crypto::hmac_sha256_hex(key, secret);
}

tl::unexpected<Error> refused(std::string reason) {
  return fail(Errc::kInvalidInput, std::move(reason));
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::optional<Credentials> decode_key_secret(std::string_view base64) {
  auto decoded = crypto::base64_decode(base64);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == decoded->size()) return std::nullopt;
  return Credentials{.api_key = decoded->substr(0, colon),
                     .api_secret = decoded->substr(colon + 1)};
}

std::optional<Credentials> read_credentials(const HttpRequest& request) {
  auto key = request.header("X-API-Key");
  auto secret = request.header("X-API-Secret");
  if (!key || !secret || key->empty() || secret->empty()) return std::nullopt;
  return Credentials{.api_key = std::string(*key), .api_secret = std::string(*secret)};
}

Result<Tenant> Authenticator::authenticate_request(const HttpRequest& request) const {
  auto credentials = read_credentials(request);
  if (!credentials) return fail(Errc::kNotFound, "X-API-Key and X-API-Secret headers are required");
  return authenticate(*credentials);
}

DevKeyAuthenticator::DevKeyAuthenticator(std::string tenant, std::string api_key,
                                         const config::Secret& api_secret)
    : tenant_(std::move(tenant)),
      api_key_(std::move(api_key)),
      secret_digest_(digest(api_secret.reveal())) {}

Result<Tenant> DevKeyAuthenticator::authenticate(const Credentials& credentials) const {
  // Both comparisons always run, so the timing does not tell a wrong key from a wrong secret.
  const bool key_matches = crypto::constant_time_equal(credentials.api_key, api_key_);
  const bool secret_matches =
      crypto::constant_time_equal(digest(credentials.api_secret), secret_digest_);
  if (!(key_matches && secret_matches))
    return fail(Errc::kInvalidInput, "unknown API key or secret");
  Tenant tenant;
  tenant.id = tenant_;
  return tenant;
}

Result<Tenant> ApiAuthenticator::authenticate(const Credentials& credentials) const {
  if (sources_.dev_key != nullptr) {
    if (auto tenant = sources_.dev_key->authenticate(credentials)) return tenant;
  }
  if (sources_.keys == nullptr) return refused("unknown API key or secret");
  const auto keys = sources_.keys->snapshot();
  if (!keys) return fail(Errc::kUnavailable, "API keys are not loaded yet");
  const auto found = keys->find(credentials.api_key);
  // An unknown key id still costs one hash, so timing does not tell which ids exist.
  const std::string_view stored =
      found == keys->end() ? std::string_view() : std::string_view(found->second.secret_hash);
  if (!auth::api_secret_matches(stored, credentials.api_secret) || found == keys->end())
    return refused("unknown API key or secret");
  return Tenant{.id = found->second.tenant,
                .key_id = found->second.id,
                .scopes = found->second.scopes & kAllScopes};
}

Result<Tenant> ApiAuthenticator::authenticate_token(std::string_view token) const {
  if (sources_.tokens == nullptr) return refused("access tokens are not enabled");
  auto claims = sources_.tokens->verify(token, clock_.now());
  if (!claims) return tl::unexpected(claims.error());
  if (claims->key_id.starts_with(kDevKeySubjectPrefix)) {
    const auto* dev = sources_.dev_key;
    if (dev == nullptr || claims->tenant != dev->tenant() ||
        claims->key_id.substr(kDevKeySubjectPrefix.size()) != dev->api_key()) {
      return refused("access token of an unknown key");
    }
    return Tenant{.id = claims->tenant, .key_id = {}, .scopes = claims->scopes & kAllScopes};
  }
  if (sources_.keys == nullptr) return refused("access token of an unknown key");
  const auto keys = sources_.keys->snapshot();
  if (!keys) return fail(Errc::kUnavailable, "API keys are not loaded yet");
  const auto found = keys->find(claims->key_id);
  if (found == keys->end()) return refused("access token of a revoked or unknown key");
  if (found->second.tenant != claims->tenant) return refused("access token of another tenant");
  return Tenant{.id = claims->tenant,
                .key_id = claims->key_id,
                .scopes = claims->scopes & found->second.scopes & kAllScopes};
}

Result<Tenant> ApiAuthenticator::authenticate_request(const HttpRequest& request) const {
  if (request.header("X-API-Key") || request.header("X-API-Secret")) {
    auto credentials = read_credentials(request);
    if (!credentials) return refused("both X-API-Key and X-API-Secret are required");
    return authenticate(*credentials);
  }
  const auto header = request.header("Authorization");
  if (!header) {
    return fail(Errc::kNotFound,
                "credentials required: X-API-Key and X-API-Secret, or an Authorization header "
                "(Basic or Bearer)");
  }
  const std::string_view value = trim(*header);
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return refused("malformed Authorization header");
  const std::string_view scheme = value.substr(0, space);
  const std::string_view parameter = trim(value.substr(space + 1));
  if (parameter.empty()) return refused("malformed Authorization header");
  if (equals_ignore_case(scheme, "Basic")) {
    auto credentials = decode_key_secret(parameter);
    if (!credentials) return refused("malformed Basic credentials");
    return authenticate(*credentials);
  }
  if (equals_ignore_case(scheme, "Bearer")) {
    if (auth::AccessTokenCodec::looks_like_jwt(parameter)) return authenticate_token(parameter);
    auto credentials = decode_key_secret(parameter);
    if (!credentials) return refused("malformed Bearer credentials");
    return authenticate(*credentials);
  }
  return refused("unsupported Authorization scheme");
}

}  // namespace otp::intake
