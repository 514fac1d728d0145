#pragma once

#include "common/error/error.h"

#include <string>
#include <string_view>

namespace otp::intake::auth {

/// API key scopes as bits, spelled `send`, `verify`, `read` in PostgreSQL (`api_keys.scopes`),
/// in otpctl flags and in access tokens. The values are those of intake::Scope (checked there);
/// they live here so that otpctl can validate scopes without the HTTP layer.
inline constexpr unsigned kScopeSend = 1U;
inline constexpr unsigned kScopeVerify = 2U;
inline constexpr unsigned kScopeRead = 4U;
inline constexpr unsigned kScopeAll = kScopeSend | kScopeVerify | kScopeRead;

/// Parses scope names separated by `separator` (`,` for flags and the database, ` ` for OAuth's
/// `scope`). Empty items are ignored; an unknown name is kInvalidInput naming it.
[[nodiscard]] Result<unsigned> parse_scopes(std::string_view names, char separator);

/// The names of the set bits in the order send, verify, read, joined with `separator`.
[[nodiscard]] std::string format_scopes(unsigned scopes, char separator);

}  // namespace otp::intake::auth
