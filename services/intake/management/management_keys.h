#pragma once

#include "common/crypto/key_ring.h"
#include "common/random/rng.h"
#include "services/intake/management/management_query.h"

#include <cstdint>
#include <vector>

namespace otp::intake::management {

/// The page-cursor MAC key: derived from the active HMAC key (domain-separated, so it never
/// equals a recipient hash key in use), else 32 random bytes for this process.
[[nodiscard]] std::vector<std::uint8_t> cursor_key(const crypto::KeyRing* hmac_keys, Rng& rng);

/// The `recipient` filter's hash: crypto::recipient_hash with the active HMAC key, the one the
/// generator stores in verification.created; without keys the filter is refused.
[[nodiscard]] RecipientHasher recipient_hasher(const crypto::KeyRing* hmac_keys);

}  // namespace otp::intake::management
