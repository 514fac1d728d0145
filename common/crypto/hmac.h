#pragma once

#include "common/crypto/key_ring.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace otp::crypto {

/// Keyed hashes for OTP state. Free functions, stateless and thread-safe. All hex output is
/// lowercase.
///
/// Field separation: inputs are joined with '|' and no length prefixes. That is unambiguous
/// because tenant ids and verification ids (`otp_` + hex) can never contain '|' (both are
/// validated where they enter the system) and the last field may contain anything. Callers must
/// not pass a tenant or verification id that has not been validated.

/// Lowercase hex of HMAC-SHA256(key, message): 64 characters.
[[nodiscard]] std::string hmac_sha256_hex(std::span<const std::uint8_t> key,
                                          std::string_view message);

/// What Redis stores instead of a code: hex(HMAC-SHA256(key, "code|" +
/// tenant|verification_id|code)), domain-separated from recipient_hash. Binding tenant and
/// verification id means a stored value is useless for any other verification.
[[nodiscard]] std::string code_hmac(const Key& key, std::string_view tenant,
                                    std::string_view verification_id, std::string_view code);

/// A stable pseudonym for a recipient (phone number or e-mail) within a tenant, for Redis keys and
/// look-ups, so that full recipients are never stored: the first 32 hex characters (128 bits) of
/// HMAC-SHA256(key, "recipient|" + tenant + "|" + recipient).
[[nodiscard]] std::string recipient_hash(const Key& key, std::string_view tenant,
                                         std::string_view recipient);

/// Compares in time that depends only on the lengths, never on where the contents differ
/// (CRYPTO_memcmp). Use it for every comparison of HMACs, tokens and secrets. Different lengths
/// are simply unequal: lengths of hex HMACs are public anyway.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace otp::crypto
