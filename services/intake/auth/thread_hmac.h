#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace otp::intake::auth {

/// Lowercase hex of HMAC-SHA256(key, message): the same value as crypto::hmac_sha256_hex, for
/// the per-request secret checks. OpenSSL 3's one-shot `HMAC()` fetches the algorithm and builds
/// and frees a context on every call, which cost more than the hashing itself (about 3 % of the
/// intake's CPU per send, docs/performance.md, "HTTP intake"); this keeps one context per thread
/// and only re-keys it. Thread-safe; aborts if OpenSSL fails, like crypto::hmac_sha256_hex.
[[nodiscard]] std::string thread_hmac_sha256_hex(std::span<const std::uint8_t> key,
                                                 std::string_view message);

}  // namespace otp::intake::auth
