#pragma once

#include <string>
#include <string_view>

namespace otp::crypto {

/// Lowercase hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// A UUID-shaped id derived from `seed` (the first 128 bits of its SHA-256, version and variant
/// bits set as for a name-based UUID). The same cause always yields the same id, which is how a
/// reprocessed record produces the same event id and the audit trail dedupes it. Seeds name the
/// cause, e.g. `tenant|request_id|verification.created`; they need not be secret.
[[nodiscard]] std::string derived_uuid(std::string_view seed);

}  // namespace otp::crypto
