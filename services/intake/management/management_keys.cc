#include "services/intake/management/management_keys.h"

#include "common/crypto/hmac.h"

namespace otp::intake::management {

std::vector<std::uint8_t> cursor_key(const crypto::KeyRing* hmac_keys, Rng& rng) {
  std::vector<std::uint8_t> key(32);
  if (hmac_keys == nullptr) {
    rng.fill(key);
    return key;
  }
  // Hex of HMAC(active, "mgmt-cursor-key"): 64 bytes of key material for the cursor MAC.
  auto derived = crypto::hmac_sha256_hex(hmac_keys->active().bytes, "mgmt-cursor-key");
  return std::vector<std::uint8_t>(derived.begin(), derived.end());
}

RecipientHasher recipient_hasher(const crypto::KeyRing* hmac_keys) {
  if (hmac_keys == nullptr) return {};
  return [hmac_keys](const std::string& tenant, const std::string& clear) {
    return std::optional<std::string>(crypto::recipient_hash(hmac_keys->active(), tenant, clear));
  };
}

}  // namespace otp::intake::management
