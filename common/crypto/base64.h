#pragma once

#include "common/error/error.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace otp::crypto {

/// Base64 (RFC 4648) for keys and sealed payloads, and base64url for JWTs. Free functions,
/// stateless and thread-safe.
///
/// Decoding is strict: one canonical spelling per byte string, so a changed character can never
/// decode to the same bytes. It rejects characters outside the alphabet (including whitespace),
/// wrong lengths, misplaced padding and non-zero bits in the final partial group. Error messages
/// never echo the input, which may be key material.

/// Standard alphabet (`+/`), padded with `=`.
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] std::string base64_encode(std::string_view bytes);
/// Strict inverse of base64_encode; kInvalidInput otherwise. The result holds raw bytes.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);

/// URL-safe alphabet (`-_`), without padding (RFC 7515 "base64url").
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
/// Strict inverse of base64url_encode: `=` is rejected; kInvalidInput otherwise.
[[nodiscard]] Result<std::string> base64url_decode(std::string_view text);

}  // namespace otp::crypto
