#include "services/intake/authenticator.h"

#include "common/crypto/hmac.h"

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

}  // namespace

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

}  // namespace otp::intake
