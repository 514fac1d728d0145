#pragma once

#include "services/intake/http_message.h"

#include <string_view>

namespace otp::intake {

/// The `Preference-Applied` value of an answer that honoured `respond-async`.
inline constexpr std::string_view kRespondAsync = "respond-async";

/// Whether the request's `Prefer` headers (RFC 7240; any number of them, each a comma-separated
/// list) name the preference `respond-async`. Preference names compare case-insensitively; a
/// value or parameters after it (`respond-async; x=1`) do not matter; anything unparseable is
/// ignored, as the RFC asks of preferences a server does not understand. Pure.
[[nodiscard]] bool prefers_respond_async(const HttpRequest& request);

}  // namespace otp::intake
