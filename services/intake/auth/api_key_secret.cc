#include "services/intake/auth/api_key_secret.h"

#include "common/crypto/base64.h"
#include "common/crypto/hmac.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace otp::intake::auth {
namespace {

constexpr std::string_view kScheme = "hmac-sha256$";
constexpr std::size_t kSaltHex = 32;
constexpr std::size_t kMacHex = 64;

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<std::uint8_t> hex_bytes(std::string_view hex) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(hex.size() / 2);
  const auto nibble = [](char c) {
    return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<std::uint8_t>((nibble(hex[i]) << 4U) | nibble(hex[i + 1])));
  }
  return bytes;
}

std::string mac_hex(std::string_view salt_hex, std::string_view secret) {
  const auto salt = hex_bytes(salt_hex);
  return crypto::hmac_sha256_hex(salt, secret);
}

}  // namespace

NewApiKey generate_api_key(Rng& rng) {
  NewApiKey key;
  key.id = "ak_" + random_hex(rng, 12);
  std::array<std::uint8_t, 32> secret{};
  rng.fill(secret);
  key.secret = "sk_" + crypto::base64url_encode(secret);
  key.secret_hash = hash_api_secret(rng, key.secret);
  return key;
}

std::string hash_api_secret(Rng& rng, std::string_view secret) {
  const std::string salt = random_hex(rng, kSaltHex / 2);
  return std::string(kScheme) + salt + "$" + mac_hex(salt, secret);
}

bool api_secret_matches(std::string_view stored, std::string_view secret) {
  // A malformed stored value still costs one HMAC, so that timing says nothing about the row.
  constexpr std::string_view kDummySalt = "00000000000000000000000000000000";
  const bool well_formed = stored.size() == kScheme.size() + kSaltHex + 1 + kMacHex &&
                           stored.starts_with(kScheme) &&
                           stored[kScheme.size() + kSaltHex] == '$' &&
                           is_lower_hex(stored.substr(kScheme.size(), kSaltHex)) &&
                           is_lower_hex(stored.substr(kScheme.size() + kSaltHex + 1));
  const std::string_view salt = well_formed ? stored.substr(kScheme.size(), kSaltHex) : kDummySalt;
  const std::string computed = mac_hex(salt, secret);
  const bool equal = crypto::constant_time_equal(
      computed, well_formed ? stored.substr(kScheme.size() + kSaltHex + 1) : std::string_view());
  return well_formed && equal;
}

bool is_api_key_id(std::string_view id) noexcept {
  return id.size() == 27 && id.starts_with("ak_") && is_lower_hex(id.substr(3));
}

}  // namespace otp::intake::auth
